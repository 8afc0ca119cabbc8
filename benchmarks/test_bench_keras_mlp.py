"""One training epoch of the book's Fashion-MNIST MLP (784-300-100-10, relu, softmax,
SGD(0.01), sparse categorical cross-entropy, accuracy) on 55,000 random 28x28 samples:
turbolearn.keras against PyTorch (the usual hand-written loop) and Keras 3 on TensorFlow and
on PyTorch, at batch 32 (issue 4's target) and at 256 and 1024 (GFLOP/s). Each library trains
in its own worker process (epoch_worker.py explains why); a round is one epoch requested from
the worker.

FLOPs per sample: 2 * 266,200 multiply-adds forward, as many for the weight gradients and for
the input gradients of layers 2 and 3 (no library computes layer 1's).

    python -m pytest benchmarks/test_bench_keras_mlp.py --benchmark-only -s

Run as a script, the epochs of the libraries are interleaved round by round
(conftest.interleaved_epochs) and the medians and ratios of the same run printed:

    python benchmarks/test_bench_keras_mlp.py [ROUNDS] [BATCH_SIZE ...]
"""
import sys

import pytest

from conftest import EPOCH_LIBRARIES, interleaved_epochs, print_interleaved, run_epochs, scaled

N = scaled(55_000)
MACS = 784 * 300 + 300 * 100 + 100 * 10
FLOPS_PER_SAMPLE = 2 * MACS * 3 - 2 * 784 * 300


@pytest.mark.parametrize("library", list(EPOCH_LIBRARIES))
@pytest.mark.parametrize("batch_size", [32, 256, 1024])
def test_mlp_epoch(benchmark, library, batch_size):
    if library.startswith("keras") and batch_size != 32:
        pytest.skip("Keras is timed at the issue's batch size only (its epochs are slow)")
    benchmark.group = f"Fashion-MNIST MLP epoch, batch {batch_size}"
    benchmark.name = f"mlp_epoch_{library}[{batch_size}]"
    run_epochs(benchmark, library, "mlp", batch_size, N, FLOPS_PER_SAMPLE * N,
               rounds=1 if library.startswith("keras") else 3)


def main(argv):
    rounds = int(argv[0]) if argv else 5
    for batch_size in map(int, argv[1:] or ["32"]):
        times = interleaved_epochs("mlp", batch_size, N, rounds)
        print_interleaved(f"Fashion-MNIST MLP, {N} samples, batch {batch_size}, {rounds} rounds",
                          times, FLOPS_PER_SAMPLE * N)


if __name__ == "__main__":
    main(sys.argv[1:])
