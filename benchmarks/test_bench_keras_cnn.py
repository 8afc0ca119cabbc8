"""One training epoch of the book's CNNs: turbolearn.keras against PyTorch (the usual
hand-written loop, NCHW), Keras 3 on TensorFlow (issue 5's peer) and Keras 3 on PyTorch, each
library in its own worker process (epoch_worker.py explains why); a round is one epoch.

- LeNet-5 (tanh, average pooling, SGD(0.01)) on 10,000 random 28x28x1 samples, batch 32.
- The book's Fashion-MNIST CNN (relu, max pooling, dropout, Nadam) on 1,024 samples, batch 32.

FLOPs per sample: 2 x the multiply-adds of the forward pass, of the filter (weight) gradients
and of the data gradients of every layer but the first (no library computes the input's).

    python -m pytest benchmarks/test_bench_keras_cnn.py --benchmark-only -s

Run as a script, the epochs of the libraries are interleaved round by round
(conftest.interleaved_epochs) and the medians and ratios of the same run printed:

    python benchmarks/test_bench_keras_cnn.py [ROUNDS] [MODEL ...]
"""
import sys

import pytest

from conftest import EPOCH_LIBRARIES, interleaved_epochs, print_interleaved, run_epochs, scaled


def conv_macs(out_hw, kernel_hw, channels, filters):
    return out_hw[0] * out_hw[1] * kernel_hw[0] * kernel_hw[1] * channels * filters


def training_flops(layer_macs):
    """2 (forward + filter gradient + data gradient) per multiply-add, the first layer's
    data gradient left out."""
    return 2 * (3 * sum(layer_macs) - layer_macs[0])


LENET5_FLOPS = training_flops([
    conv_macs((28, 28), (5, 5), 1, 6), conv_macs((10, 10), (5, 5), 6, 16),
    conv_macs((1, 1), (5, 5), 16, 120), 120 * 84, 84 * 10])
FASHION_CNN_FLOPS = training_flops([
    conv_macs((28, 28), (7, 7), 1, 64), conv_macs((14, 14), (3, 3), 64, 128),
    conv_macs((14, 14), (3, 3), 128, 128), conv_macs((7, 7), (3, 3), 128, 256),
    conv_macs((7, 7), (3, 3), 256, 256), 2304 * 128, 128 * 64, 64 * 10])

CASES = {"lenet5": scaled(10_000), "fashion_cnn": scaled(1_024)}
FLOPS_PER_SAMPLE = {"lenet5": LENET5_FLOPS, "fashion_cnn": FASHION_CNN_FLOPS}


@pytest.mark.parametrize("library", list(EPOCH_LIBRARIES))
@pytest.mark.parametrize("model", list(CASES))
def test_cnn_epoch(benchmark, model, library):
    n = CASES[model]
    benchmark.group = f"{model} epoch, {n} samples, batch 32"
    benchmark.name = f"{model}_epoch_{library}"
    run_epochs(benchmark, library, model, 32, n, FLOPS_PER_SAMPLE[model] * n,
               rounds=3 if library in ("turbolearn", "torch") else 1)


def main(argv):
    rounds = int(argv[0]) if argv else 3
    for model in argv[1:] or CASES:
        n = CASES[model]
        times = interleaved_epochs(model, 32, n, rounds)
        print_interleaved(f"{model}, {n} samples, batch 32, {rounds} rounds", times,
                          FLOPS_PER_SAMPLE[model] * n)


if __name__ == "__main__":
    main(sys.argv[1:])
