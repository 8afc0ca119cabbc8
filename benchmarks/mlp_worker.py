"""A worker process that trains the book's Fashion-MNIST MLP one epoch per request.

    python mlp_worker.py {turbolearn,torch,keras} BATCH_SIZE N_SAMPLES

It builds the data and the model, runs one warm-up epoch, prints "ready", then runs one epoch
for each line read on stdin and prints "done". The benchmarks time that round trip: each
library trains in its own process, because on two cores the idle thread pools of one library's
OpenMP and BLAS runtimes (spinning after each call) slow another's by 2-10x in a shared process.
"""
import os
import sys

import numpy as np


def data(n):
    rng = np.random.default_rng(0)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


def keras_epoch(keras, X, y, batch_size):
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"), keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    return lambda: model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)


def torch_epoch(X, y, batch_size):
    import torch
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
            loss_fn(logits, yb).backward()
            optimizer.step()
            (logits.argmax(1) == yb).float().mean()  # the accuracy metric the others compute
    return epoch


def main(library, batch_size, n):
    X, y = data(n)
    if library == "turbolearn":
        from turbolearn import keras
        epoch = keras_epoch(keras, X, y, batch_size)
    elif library == "keras":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        epoch = keras_epoch(keras, X, y, batch_size)
    else:
        epoch = torch_epoch(X, y, batch_size)
    epoch()
    print("ready", flush=True)
    for _ in sys.stdin:
        epoch()
        print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
