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


def images_like(n):
    """n random 28 x 28 x 1 images (channels_last) and labels."""
    X, y = fashion_mnist_like(n)
    return X[..., None], y


def nchw(X):
    """A batch of NHWC NumPy images as the NCHW tensor a torch model takes."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))


def lenet5_keras(keras):
    """LeNet-5 (chapter 14's table; 'same' on the 28 x 28 inputs in place of the 32 x 32
    padding), tanh, average pooling, softmax, SGD(0.01)."""
    layers = keras.layers
    model = keras.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="tanh"), layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"), layers.AveragePooling2D(2),
        layers.Conv2D(120, 5, activation="tanh"), layers.Flatten(),
        layers.Dense(84, activation="tanh"), layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    return model


def lenet5_torch(torch):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
        nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
    return model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01), nchw


def fashion_cnn_keras(keras):
    """The book's Fashion-MNIST CNN (chapter 14): 7 x 7 then 3 x 3 'same' relu convolutions,
    max pooling, two dropout-regularised dense layers; Nadam, as the book compiles it."""
    layers = keras.layers

    def conv(filters, kernel_size=3):
        return layers.Conv2D(filters, kernel_size, activation="relu", padding="same")
    model = keras.Sequential([
        layers.Input(shape=(28, 28, 1)), conv(64, 7), layers.MaxPooling2D(2),
        conv(128), conv(128), layers.MaxPooling2D(2),
        conv(256), conv(256), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dropout(0.5),
        layers.Dense(64, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam",
                  metrics=["accuracy"])
    return model


def fashion_cnn_torch(torch):
    nn = torch.nn

    def conv(c, f, kernel_size=3):
        return [nn.Conv2d(c, f, kernel_size, padding=kernel_size // 2), nn.ReLU()]
    model = nn.Sequential(
        *conv(1, 64, 7), nn.MaxPool2d(2), *conv(64, 128), *conv(128, 128), nn.MaxPool2d(2),
        *conv(128, 256), *conv(256, 256), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(2304, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))
    return model, nn.CrossEntropyLoss(), torch.optim.NAdam(model.parameters()), nchw


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
             "lenet5": Workload(images_like, lenet5_keras, lenet5_torch),
             "fashion_cnn": Workload(images_like, fashion_cnn_keras, fashion_cnn_torch),
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
    # Every library with its own defaults, as a user runs it (turbolearn's import picks its
    # OpenMP wait policy). Forcing OMP_WAIT_POLICY=PASSIVE on torch, as these benchmarks once
    # did, made its epochs 1.1-10x slower on the idle machine (MLP 0.77 -> 2.27 s, LSTM
    # 0.36 -> 3.47 s); spinning threads hurt only when other processes load the cores.
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
