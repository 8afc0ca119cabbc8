"""One training epoch of the book's Fashion-MNIST MLP (784-300-100-10, relu, softmax,
SGD(0.01), sparse categorical cross-entropy, accuracy) on 55,000 random 28x28 samples:
turbolearn.keras against PyTorch (the usual hand-written loop) and Keras 3 (on PyTorch, the
backend installed here; TensorFlow is not), at batch 32 (issue 4's target) and at 256 and
1024 (GFLOP/s). Each library trains in its own worker process (mlp_worker.py explains why);
a round is one epoch requested from the worker.

FLOPs per sample: 2 * 266,200 multiply-adds forward, as many for the weight gradients and for
the input gradients of layers 2 and 3 (no library computes layer 1's).

    python -m pytest benchmarks/test_bench_keras_mlp.py --benchmark-only -s
"""
import os
import subprocess
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on the installed PyTorch
from conftest import optional, run, scaled  # noqa: E402

N = scaled(55_000)
MACS = 784 * 300 + 300 * 100 + 100 * 10
FLOPS_PER_SAMPLE = 2 * MACS * 3 - 2 * 784 * 300
WORKER = os.path.join(os.path.dirname(__file__), "mlp_worker.py")
PEERS = {"turbolearn": True, "torch": optional("torch") is not None,
         "keras": optional("keras") is not None}


class Worker:
    def __init__(self, library, batch_size):
        self.process = subprocess.Popen([sys.executable, WORKER, library, str(batch_size), str(N)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._expect("ready")

    def _expect(self, word):
        line = self.process.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"the benchmark worker answered {line!r}, expected {word!r}")

    def epoch(self):
        self.process.stdin.write("epoch\n")
        self.process.stdin.flush()
        self._expect("done")

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.mark.parametrize("library", ["turbolearn", "torch", "keras"])
@pytest.mark.parametrize("batch_size", [32, 256, 1024])
def test_mlp_epoch(benchmark, library, batch_size):
    if not PEERS[library]:
        pytest.skip(f"{library} is not installed")
    if library == "keras" and batch_size != 32:
        pytest.skip("Keras is timed at the issue's batch size only (its epochs are slow)")
    benchmark.group = f"Fashion-MNIST MLP epoch, batch {batch_size}"
    benchmark.name = f"mlp_epoch_{library}[{batch_size}]"
    worker = Worker(library, batch_size)
    try:
        run(benchmark, worker.epoch, FLOPS_PER_SAMPLE * N, rounds=3 if library != "keras" else 1)
    finally:
        worker.close()
