"""Shared benchmark machinery: workload sizes, peers that may be missing, and the summary table.

Every benchmark records its FLOP count; at the end a table prints each median, the achieved
GFLOP/s, the fraction of this machine's float32 peak and the ratio to turbolearn in the same
group (>1 means the peer is slower). TURBOLEARN_BENCH_SCALE shrinks the workloads (CI runs
them tiny, to keep the code working).
"""
import importlib.util
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest

PEAK_GFLOPS = float(os.environ.get("TURBOLEARN_PEAK_GFLOPS", 200.0))  # 2 cores, float32
SCALE = float(os.environ.get("TURBOLEARN_BENCH_SCALE", 1.0))


def scaled(n):
    return max(int(n * SCALE), 16)


def optional(module):
    """A peer library, or None when it is not installed (its benchmark then skips)."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        return None


def run(benchmark, fn, flops, rounds=3):
    """Times fn with a few rounds (the workloads take seconds) and records its FLOP count."""
    benchmark.extra_info["flops"] = flops
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


def installed(module):
    """Whether a peer library can be imported, without importing it in this process."""
    return importlib.util.find_spec(module) is not None


# The libraries epoch_worker.py trains with, and whether each is installed here.
EPOCH_LIBRARIES = {"turbolearn": True, "torch": installed("torch"),
                   "keras-tensorflow": installed("keras") and installed("tensorflow"),
                   "keras-torch": installed("keras") and installed("torch")}


class EpochWorker:
    """epoch_worker.py training `model` with `library` in its own process; epoch() runs one."""

    PATH = os.path.join(os.path.dirname(__file__), "epoch_worker.py")

    def __init__(self, library, model, batch_size, n):
        self.process = subprocess.Popen(
            [sys.executable, self.PATH, library, model, str(batch_size), str(n)],
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


def run_epochs(benchmark, library, model, batch_size, n, flops, rounds=3):
    """Times epochs of `model` trained by `library` in a worker (skips when not installed)."""
    if not EPOCH_LIBRARIES[library]:
        pytest.skip(f"{library} is not installed")
    worker = EpochWorker(library, model, batch_size, n)
    try:
        run(benchmark, worker.epoch, flops, rounds=rounds)
    finally:
        worker.close()


def interleaved_epochs(model, batch_size, n, rounds):
    """Epoch times of `model` per installed library, one worker each kept alive and their
    epochs interleaved round by round (after each worker's warm-up epoch), so that a load
    drifting on a shared machine falls on every library alike; pytest-benchmark times one
    library after the other."""
    libraries = [lib for lib, present in EPOCH_LIBRARIES.items() if present]
    workers = {}
    try:
        for lib in libraries:
            workers[lib] = EpochWorker(lib, model, batch_size, n)
        times = {lib: [] for lib in libraries}
        for _ in range(rounds):
            for lib, worker in workers.items():
                start = time.perf_counter()
                worker.epoch()
                times[lib].append(time.perf_counter() - start)
    finally:
        for worker in workers.values():
            worker.close()
    return times


def blas_kernels():
    """Which OpenBLAS kernels scipy's BLAS (turbolearn's and scikit-learn's) runs: this
    machine pins them to Haswell (AVX2) through OPENBLAS_CORETYPE; benchmarks against peers
    run with it unset (benchmarks/README.md)."""
    importlib.import_module("scipy.linalg")  # loads the OpenBLAS that turbolearn calls
    from threadpoolctl import threadpool_info
    kernels = {info.get("architecture") for info in threadpool_info()
               if info.get("internal_api") == "openblas"}
    return f"OpenBLAS kernels {'/'.join(sorted(map(str, kernels))) or 'none found'}"


def print_interleaved(title, times, flops):
    """The medians of interleaved_epochs, their spread, GFLOP/s and the ratio to turbolearn."""
    ours = statistics.median(times["turbolearn"])
    print(f"{title}; {blas_kernels()}")
    for lib, t in times.items():
        median = statistics.median(t)
        print(f"  {lib:<17} median {median:7.3f} s  ({min(t):.3f}-{max(t):.3f})  "
              f"{flops / median / 1e9:6.1f} GFLOP/s  {median / ours:6.2f}x turbolearn's time",
              flush=True)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


def pytest_terminal_summary(terminalreporter):
    session = getattr(terminalreporter.config, "_benchmarksession", None)
    benches = [b for b in getattr(session, "benchmarks", []) if b.stats is not None]
    if not benches or session.disabled:
        return
    by_group = {}
    for b in benches:
        by_group.setdefault(b.group, []).append(b)
    write = terminalreporter.write_line
    write("")
    write(f"{'benchmark':<44} {'median s':>9} {'GFLOP/s':>8} {'% peak':>7} {'vs turbolearn':>13}")
    for group, items in sorted(by_group.items()):
        ours = next((b.stats.median for b in items if "turbolearn" in b.name), None)
        write(f"[{group}]")
        for b in sorted(items, key=lambda b: b.stats.median):
            median = b.stats.median
            gflops = b.extra_info.get("flops", 0) / median / 1e9
            ratio = f"{median / ours:.2f}x" if ours else "-"
            write(f"  {b.name:<42} {median:9.3f} {gflops:8.1f} {100 * gflops / PEAK_GFLOPS:6.1f}% {ratio:>13}")
