"""How the cost of a clustering fit grows with n: time and peak memory, turbolearn against
scikit-learn, on 2-D blobs (20 centres) at n = 1e4, 1e5, 1e6.

    python benchmarks/scaling.py dbscan
    python benchmarks/scaling.py kmeans

Each measurement is four fits in a fresh process: ru_maxrss (which, unlike tracemalloc,
sees C++ allocations) before and after the first gives the fit's own peak above the data;
the next three are timed (the first also pays one-off costs: thread pools, lazy imports),
median reported.
"""
import json
import subprocess
import sys

# estimator, its parameters, and the largest n scikit-learn is run at (its DBSCAN keeps every
# neighbourhood list: ~350 neighbours per point at 1e6 here, measured once: 16.6 s and
# 4.0 GiB above the data, against turbolearn's 0.66 s and 62 MiB).
CASES = {
    "dbscan": ("DBSCAN", "eps=0.1, min_samples=10", 100_000),
    "kmeans": ("KMeans", "n_clusters=20, init='random', n_init=1, max_iter=30, tol=0, random_state=0",
               1_000_000),
}

_CHILD = """
import json, resource, sys, time
import numpy as np
from sklearn.datasets import make_blobs
library, name, params, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
module = __import__("turbolearn.cluster" if library == "turbolearn" else "sklearn.cluster",
                    fromlist=[name])
make = lambda: eval(f"getattr(module, name)({params})")
X = make_blobs(n, n_features=2, centers=20, cluster_std=0.6, random_state=0)[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
make().fit(X)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(3):
    start = time.perf_counter()
    make().fit(X)
    times.append(time.perf_counter() - start)
print(json.dumps({"seconds": float(np.median(times)), "fit_mib": (after - before) / 1024,
                  "peak_mib": after / 1024}))
"""


def measure(library, name, params, n):
    out = subprocess.run([sys.executable, "-c", _CHILD, library, name, params, str(n)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def scaling_table(case, sizes=(10_000, 100_000, 1_000_000)):
    name, params, sklearn_max = CASES[case]
    print(f"{name}({params}) on 2-D blobs")
    print(f"{'library':<11} {'n':>9} {'fit s':>8} {'fit peak MiB':>13} {'process MiB':>12}")
    for n in sizes:
        for library in ("turbolearn", "sklearn"):
            if library == "sklearn" and n > sklearn_max:
                print(f"{library:<11} {n:>9}  skipped (memory and minutes; see CASES)")
                continue
            m = measure(library, name, params, n)
            print(f"{library:<11} {n:>9} {m['seconds']:8.3f} {m['fit_mib']:13.1f} {m['peak_mib']:12.1f}")


if __name__ == "__main__":
    scaling_table(sys.argv[1] if len(sys.argv) > 1 else "dbscan")
