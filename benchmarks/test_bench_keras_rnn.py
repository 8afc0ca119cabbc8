"""One training epoch of the book's deep RNNs (chapter 15): 2 x LSTM(20), 2 x GRU(20) or
2 x SimpleRNN(20) + Dense(1) on 7,000 series of 50 steps and 1 feature (generate_time_series),
MSE, Adam, batch 32 (219 batches): turbolearn.keras against PyTorch (nn.LSTM / nn.GRU /
nn.RNN, the usual hand-written loop) and Keras 3 on TensorFlow and on PyTorch. Each library
trains in its own worker process (epoch_worker.py explains why); a round is one epoch.

FLOPs per series: the GEMM formulation of the two recurrent layers' forward and backward
(test_bench_rnn.step_flops; the first layer computes no input gradient); the head's are
negligible.

    python -m pytest benchmarks/test_bench_keras_rnn.py --benchmark-only -s

Run as a script, the epochs of the libraries are interleaved round by round
(conftest.interleaved_epochs) and the medians and ratios of the same run printed:

    python benchmarks/test_bench_keras_rnn.py [ROUNDS] [WORKLOAD ...]
"""
import sys

import pytest

from conftest import EPOCH_LIBRARIES, interleaved_epochs, print_interleaved, run_epochs, scaled
from test_bench_rnn import step_flops

N = scaled(7_000)
BATCH_SIZE = 32
WORKLOADS = ("lstm", "gru", "simple_rnn")


def epoch_flops(workload, n):
    per_series = (step_flops(workload, 1, 50, 1, 20, need_dx=False) +
                  step_flops(workload, 1, 50, 20, 20))
    return per_series * n


@pytest.mark.parametrize("library", list(EPOCH_LIBRARIES))
@pytest.mark.parametrize("workload", WORKLOADS)
def test_deep_rnn_epoch(benchmark, workload, library):
    benchmark.group = f"book 2x{workload}(20)+Dense(1) epoch, batch {BATCH_SIZE}"
    benchmark.name = f"{workload}_epoch_{library}"
    run_epochs(benchmark, library, workload, BATCH_SIZE, N, epoch_flops(workload, N),
               rounds=3 if library.startswith("keras") else 5)


def main(argv):
    rounds = int(argv[0]) if argv else 5
    for workload in argv[1:] or WORKLOADS:
        times = interleaved_epochs(workload, BATCH_SIZE, N, rounds)
        print_interleaved(f"2x{workload}(20)+Dense(1), {N} series, batch {BATCH_SIZE}, "
                          f"{rounds} rounds", times, epoch_flops(workload, N))


if __name__ == "__main__":
    main(sys.argv[1:])
