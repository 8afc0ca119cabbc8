"""The dbscan op family: DBSCAN against scikit-learn and scikit-learn-intelex in the same run,
on the workloads of issue 3, plus a scaling table (time and peak memory per process).

    python -m pytest benchmarks/test_bench_dbscan.py --benchmark-only -s
    python benchmarks/test_bench_dbscan.py     # the scaling table, n = 1e4, 1e5, 1e6

The GFLOP/s column counts the work of a brute-force search (3 n^2 d flops: difference,
square, add per pair and feature), which the grid avoids: read it as an effective rate.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SkDBSCAN
from sklearn.datasets import make_blobs

from turbolearn.cluster import DBSCAN

from conftest import optional, run, scaled

sklearnex = optional("sklearnex.cluster")

# (name, n, d, cluster_std, eps, min_samples): make_blobs with 20 centres.
WORKLOADS = [("blobs 100k x 2", scaled(100_000), 2, 0.6, 0.1, 10),
             ("blobs 50k x 8", scaled(50_000), 8, 0.3, 0.6, 10)]
PEERS = {"turbolearn": DBSCAN, "sklearn": SkDBSCAN,
         "sklearnex": sklearnex.DBSCAN if sklearnex else None}


def blobs(n, d, std):
    return make_blobs(n, n_features=d, centers=20, cluster_std=std, random_state=0)[0]


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("workload", WORKLOADS, ids=[w[0] for w in WORKLOADS])
def test_dbscan(benchmark, workload, peer):
    name, n, d, std, eps, min_samples = workload
    if PEERS[peer] is None:
        pytest.skip("scikit-learn-intelex is not installed")
    benchmark.group = f"DBSCAN {name} eps={eps} min_samples={min_samples}"
    benchmark.name = f"test_dbscan_{peer}"
    X = blobs(n, d, std)
    est = PEERS[peer](eps=eps, min_samples=min_samples)
    run(benchmark, lambda: est.fit(X), 3 * n * n * d, rounds=3 if peer != "sklearn" else 1)
    np.testing.assert_array_equal(est.labels_, SkDBSCAN(eps=eps, min_samples=min_samples).fit(X).labels_)


# Four fits in a fresh process: ru_maxrss (which, unlike tracemalloc, sees C++ allocations)
# before and after the first gives the fit's own peak above the data; the next three are
# timed (the first also pays one-off costs: thread pools, lazy imports), median reported.
_CHILD = """
import json, resource, sys, time
import numpy as np
from sklearn.datasets import make_blobs
library, n = sys.argv[1], int(sys.argv[2])
if library == "turbolearn":
    from turbolearn.cluster import DBSCAN
else:
    from sklearn.cluster import DBSCAN
X = make_blobs(n, n_features=2, centers=20, cluster_std=0.6, random_state=0)[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
DBSCAN(eps=0.1, min_samples=10).fit(X)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(3):
    start = time.perf_counter()
    DBSCAN(eps=0.1, min_samples=10).fit(X)
    times.append(time.perf_counter() - start)
seconds = float(np.median(times))
print(json.dumps({"seconds": seconds, "fit_mib": (after - before) / 1024, "peak_mib": after / 1024}))
"""


def measure(library, n):
    out = subprocess.run([sys.executable, "-c", _CHILD, library, str(n)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def scaling_table(sizes=(10_000, 100_000, 1_000_000), sklearn_max=100_000):
    """Prints time and memory per library and size. scikit-learn stops at `sklearn_max`: its
    neighbourhood lists grow as n x neighbours (~350 per point at 1e6 here); measured once at
    1e6 on the 2-core machine, 16.6 s and 4.0 GiB above the data (turbolearn: 0.66 s, 62 MiB)."""
    print(f"{'library':<11} {'n':>9} {'fit s':>8} {'fit peak MiB':>13} {'process MiB':>12}")
    for n in sizes:
        for library in ("turbolearn", "sklearn"):
            if library == "sklearn" and n > sklearn_max:
                print(f"{library:<11} {n:>9}  skipped (4 GiB and minutes, see scaling_table)")
                continue
            m = measure(library, n)
            print(f"{library:<11} {n:>9} {m['seconds']:8.3f} {m['fit_mib']:13.1f} {m['peak_mib']:12.1f}")


if __name__ == "__main__":
    scaling_table()
