"""A worker process that trains one of the book's models, one epoch per request.

    python epoch_worker.py LIBRARY MODEL BATCH_SIZE N_SAMPLES

LIBRARY is turbolearn, torch (the usual hand-written loop), keras-tensorflow or keras-torch
(Keras 3 on that backend); MODEL is a name in WORKLOADS. The worker builds the data and the
model, runs one warm-up epoch, prints "ready", then runs one epoch for each line read on stdin
and prints "done". The benchmarks time that round trip: each library trains in its own
process, because on two cores the idle thread pools of one library's OpenMP and BLAS runtimes
(spinning after each call) slow another's by 2-10x in a shared process.

A workload is the data, the model written once against the Keras API (turbolearn.keras and
Keras itself build the same layers), and the same model for torch.
"""
import os
import sys

import numpy as np


class Workload:
    """data(n) -> (X, y); keras(keras) -> a compiled model; torch(torch) -> (module, loss_fn,
    optimizer, to_input) where to_input maps a batch of X (NumPy layout) to torch's layout."""

    def __init__(self, data, keras, torch):
        self.data, self.keras, self.torch = data, keras, torch


def fashion_mnist_like(n):
    rng = np.random.default_rng(0)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def mlp_keras(keras):
    """The book's Fashion-MNIST MLP (chapter 10)."""
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"), keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    return model


def mlp_torch(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100),
                          nn.ReLU(), nn.Linear(100, 10))
    return model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01), \
        torch.from_numpy


def time_series(n):
    """The book's generate_time_series (chapter 15): n series of 50 steps, two sines of random
    frequencies and phases plus noise, and the next value to predict."""
    rng = np.random.default_rng(42)
    freq1, freq2, offsets1, offsets2 = rng.random((4, n, 1))
    time = np.linspace(0, 1, 51)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((n, 51)) - 0.5)
    series = series.astype(np.float32)
    return series[:, :50, np.newaxis], series[:, 50:]


def deep_rnn_keras(layer):
    """The book's deep RNN: 2 x ``layer``(20) + Dense(1), MSE, Adam (chapter 15)."""
    def build(keras):
        rnn = getattr(keras.layers, layer)
        model = keras.Sequential([keras.layers.Input(shape=(None, 1)),
                                  rnn(20, return_sequences=True), rnn(20),
                                  keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="adam")
        return model
    return build


def deep_rnn_torch(module):
    """The same in torch: two ``torch.nn.<module>`` layers, a Linear head on the last step."""
    def build(torch):
        nn = torch.nn

        class DeepRNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn1 = getattr(nn, module)(1, 20, batch_first=True)
                self.rnn2 = getattr(nn, module)(20, 20, batch_first=True)
                self.head = nn.Linear(20, 1)

            def forward(self, x):
                sequence, _ = self.rnn1(x)
                last, _ = self.rnn2(sequence)
                return self.head(last[:, -1])
        model = DeepRNN()
        return model, nn.MSELoss(), torch.optim.Adam(model.parameters()), torch.from_numpy
    return build


WORKLOADS = {"mlp": Workload(fashion_mnist_like, mlp_keras, mlp_torch),
             "simple_rnn": Workload(time_series, deep_rnn_keras("SimpleRNN"),
                                    deep_rnn_torch("RNN")),
             "lstm": Workload(time_series, deep_rnn_keras("LSTM"), deep_rnn_torch("LSTM")),
             "gru": Workload(time_series, deep_rnn_keras("GRU"), deep_rnn_torch("GRU"))}


def torch_epoch(workload, X, y, batch_size):
    import torch
    model, loss_fn, optimizer, to_input = workload.torch(torch)
    Xt, yt = to_input(X), torch.from_numpy(y)
    classify = yt.dtype == torch.int64

    def epoch():
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            index = order[start:start + batch_size]
            xb, yb = Xt[index], yt[index]
            optimizer.zero_grad()
            out = model(xb)
            loss_fn(out, yb).backward()
            optimizer.step()
            if classify:
                (out.argmax(1) == yb).float().mean()  # the accuracy metric the others compute
    return epoch


def keras_epoch(keras, workload, X, y, batch_size):
    model = workload.keras(keras)
    return lambda: model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)


def main(library, name, batch_size, n):
    workload = WORKLOADS[name]
    X, y = workload.data(n)
    if library == "turbolearn":
        from turbolearn import keras
        epoch = keras_epoch(keras, workload, X, y, batch_size)
    elif library.startswith("keras-"):
        os.environ["KERAS_BACKEND"] = library[len("keras-"):]
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
        import keras
        epoch = keras_epoch(keras, workload, X, y, batch_size)
    elif library == "torch":
        epoch = torch_epoch(workload, X, y, batch_size)
    else:
        raise SystemExit(f"unknown library {library!r}")
    epoch()
    print("ready", flush=True)
    for _ in sys.stdin:
        epoch()
        print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
