"""One training epoch of the book's deep RNNs (chapter 15): 2 x LSTM(20), 2 x GRU(20) or
2 x SimpleRNN(20) + Dense(1) on 7,000 series of 50 steps and 1 feature (generate_time_series),
MSE, Adam, batch 32 (219 batches): turbolearn.keras against PyTorch (nn.LSTM / nn.GRU /
nn.RNN, the usual hand-written loop) and Keras 3 on TensorFlow and on PyTorch. Each library
trains in its own worker process (epoch_worker.py explains why); a round is one epoch.

FLOPs per series: the GEMM formulation of the two recurrent layers' forward and backward
(test_bench_rnn.step_flops; the first layer computes no input gradient); the head's are
negligible.

    python -m pytest benchmarks/test_bench_keras_rnn.py --benchmark-only -s

pytest-benchmark times one library after the other, so on a loaded machine the load drifts
between them. Run as a script, the file keeps one worker per library alive and interleaves
their epochs round by round, then prints the medians and the ratios of the same run:

    python benchmarks/test_bench_keras_rnn.py [ROUNDS] [WORKLOAD ...]
"""
import statistics
import sys
import time

import pytest

from conftest import EPOCH_LIBRARIES, EpochWorker, run_epochs, scaled
from test_bench_rnn import step_flops

N = scaled(7_000)
BATCH_SIZE = 32
WORKLOADS = ("lstm", "gru", "simple_rnn")
LIBRARIES = ("turbolearn", "torch", "keras-tensorflow", "keras-torch")


def epoch_flops(workload, n):
    per_series = (step_flops(workload, 1, 50, 1, 20, need_dx=False) +
                  step_flops(workload, 1, 50, 20, 20))
    return per_series * n


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("workload", WORKLOADS)
def test_deep_rnn_epoch(benchmark, workload, library):
    benchmark.group = f"book 2x{workload}(20)+Dense(1) epoch, batch {BATCH_SIZE}"
    benchmark.name = f"{workload}_epoch_{library}"
    run_epochs(benchmark, library, workload, BATCH_SIZE, N, epoch_flops(workload, N),
               rounds=3 if library.startswith("keras") else 5)


def interleaved(workload, rounds):
    """Median epoch time per installed library, epochs interleaved round by round."""
    libraries = [lib for lib in LIBRARIES if EPOCH_LIBRARIES[lib]]
    workers = {lib: EpochWorker(lib, workload, BATCH_SIZE, N) for lib in libraries}
    times = {lib: [] for lib in libraries}
    try:
        for _ in range(rounds):
            for lib, worker in workers.items():
                start = time.perf_counter()
                worker.epoch()
                times[lib].append(time.perf_counter() - start)
    finally:
        for worker in workers.values():
            worker.close()
    return {lib: statistics.median(t) for lib, t in times.items()}, times


def main(argv):
    rounds = int(argv[0]) if argv else 5
    for workload in argv[1:] or WORKLOADS:
        medians, times = interleaved(workload, rounds)
        ours = medians["turbolearn"]
        print(f"2x{workload}(20)+Dense(1), {N} series, batch {BATCH_SIZE}, {rounds} rounds")
        for lib, median in medians.items():
            spread = f"{min(times[lib]):.3f}-{max(times[lib]):.3f}"
            print(f"  {lib:<17} median {median:7.3f} s  ({spread})  "
                  f"{median / ours:6.2f}x turbolearn's time", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
