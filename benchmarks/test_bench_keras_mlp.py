"""One training epoch of the book's Fashion-MNIST MLP (784-300-100-10, relu, softmax,
SGD(0.01), sparse categorical cross-entropy) on 55,000 random 28x28 samples: turbolearn.keras
against PyTorch (the usual hand-written loop) and Keras 3 (on PyTorch, the backend installed
here; TensorFlow is not), at batch 32 (issue 4's target) and at 256 and 1024 (GFLOP/s).

FLOPs per sample: 2 * 266,200 multiply-adds forward, twice that backward (weights and inputs;
the first layer needs no input gradient, which all three libraries skip).

    python -m pytest benchmarks/test_bench_keras_mlp.py --benchmark-only -s
"""
import os

import numpy as np
import pytest

from conftest import optional, run, scaled

N = scaled(55_000)
MACS = 784 * 300 + 300 * 100 + 100 * 10
FLOPS_PER_SAMPLE = 2 * MACS * 3 - 2 * 784 * 300  # forward, weight grads, input grads but layer 1
torch = optional("torch")


@pytest.fixture(scope="module")
def fashion(rng):
    X = rng.random((N, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, N)
    return X, y


def build_turbolearn():
    from turbolearn import keras
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"), keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    return model


def build_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = optional("keras")
    if keras is None:
        return None
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"), keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    return model


def torch_epoch(X, y, batch_size):
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100),
                          nn.ReLU(), nn.Linear(100, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch():
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            index = order[start:start + batch_size]
            xb, yb = Xt[index], yt[index]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            (logits.argmax(1) == yb).float().mean()  # the accuracy metric the others compute
    return epoch


@pytest.mark.parametrize("batch_size", [32, 256, 1024])
@pytest.mark.benchmark(group="Fashion-MNIST MLP epoch")
def test_mlp_epoch_turbolearn(benchmark, fashion, batch_size):
    X, y = fashion
    model = build_turbolearn()
    benchmark.group = f"Fashion-MNIST MLP epoch, batch {batch_size}"
    run(benchmark, lambda: model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0),
        FLOPS_PER_SAMPLE * N)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("batch_size", [32, 256, 1024])
@pytest.mark.benchmark(group="Fashion-MNIST MLP epoch")
def test_mlp_epoch_torch(benchmark, fashion, batch_size):
    X, y = fashion
    benchmark.group = f"Fashion-MNIST MLP epoch, batch {batch_size}"
    run(benchmark, torch_epoch(X, y, batch_size), FLOPS_PER_SAMPLE * N)


@pytest.mark.parametrize("batch_size", [32])
@pytest.mark.benchmark(group="Fashion-MNIST MLP epoch")
def test_mlp_epoch_keras_on_torch(benchmark, fashion, batch_size):
    model = build_keras()
    if model is None:
        pytest.skip("keras is not installed")
    X, y = fashion
    benchmark.group = f"Fashion-MNIST MLP epoch, batch {batch_size}"
    run(benchmark, lambda: model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0),
        FLOPS_PER_SAMPLE * N, rounds=1)
