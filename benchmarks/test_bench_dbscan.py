"""The dbscan op family: DBSCAN against scikit-learn and scikit-learn-intelex in the same run,
on the workloads of issue 3 (the scaling table with n is benchmarks/scaling.py).

    python -m pytest benchmarks/test_bench_dbscan.py --benchmark-only -s

The GFLOP/s column counts the work of a brute-force search (3 n^2 d flops: difference,
square, add per pair and feature), which the grid avoids: read it as an effective rate.
"""
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
