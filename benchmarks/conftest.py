"""Shared benchmark machinery: workload sizes, peers that may be missing, and the summary table.

Every benchmark records its FLOP count; at the end a table prints each median, the achieved
GFLOP/s, the fraction of this machine's float32 peak and the ratio to turbolearn in the same
group (>1 means the peer is slower). TURBOLEARN_BENCH_SCALE shrinks the workloads (CI runs
them tiny, to keep the code working).
"""
import os

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
