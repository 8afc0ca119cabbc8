"""The distance op family: kneighbors and pairwise_distances against the peers a user would
pick instead. Workload of the foundation issue: 20,000 queries against 200,000 x 32 float32
points, k = 10.

    python -m pytest benchmarks/test_bench_distance.py --benchmark-only -s
"""
import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

import turbolearn.cuda
from turbolearn.metrics import pairwise_distances
from turbolearn.neighbors import NearestNeighbors

from conftest import optional, run, scaled

N_DATA, N_QUERY, N_FEATURES, K = scaled(200_000), scaled(20_000), 32, 10
KNN_FLOPS = 2 * N_QUERY * N_DATA * N_FEATURES  # the GEMM part, which bounds the work
sklearnex = optional("sklearnex.neighbors")
faiss = optional("faiss")
cupy = optional("cupy") if turbolearn.cuda.is_available() else None


@pytest.fixture(scope="module")
def knn_data(rng):
    X = rng.standard_normal((N_DATA, N_FEATURES)).astype(np.float32)
    Q = rng.standard_normal((N_QUERY, N_FEATURES)).astype(np.float32)
    return X, Q


@pytest.mark.benchmark(group="kneighbors 20k x 200k x 32 k=10")
def test_kneighbors_turbolearn(benchmark, knn_data):
    X, Q = knn_data
    nn = NearestNeighbors(n_neighbors=K).fit(X)
    run(benchmark, lambda: nn.kneighbors(Q), KNN_FLOPS)


@pytest.mark.benchmark(group="kneighbors 20k x 200k x 32 k=10")
def test_kneighbors_sklearn(benchmark, knn_data):
    X, Q = knn_data
    nn = SkNearestNeighbors(n_neighbors=K, algorithm="brute").fit(X)
    run(benchmark, lambda: nn.kneighbors(Q), KNN_FLOPS, rounds=1)


@pytest.mark.skipif(sklearnex is None, reason="scikit-learn-intelex is not installed")
@pytest.mark.benchmark(group="kneighbors 20k x 200k x 32 k=10")
def test_kneighbors_sklearnex(benchmark, knn_data):
    X, Q = knn_data
    nn = sklearnex.NearestNeighbors(n_neighbors=K, algorithm="brute").fit(X)
    run(benchmark, lambda: nn.kneighbors(Q), KNN_FLOPS)


@pytest.mark.skipif(faiss is None, reason="faiss-cpu is not installed")
@pytest.mark.benchmark(group="kneighbors 20k x 200k x 32 k=10")
def test_kneighbors_faiss(benchmark, knn_data):
    X, Q = knn_data
    index = faiss.IndexFlatL2(N_FEATURES)
    index.add(X)
    run(benchmark, lambda: index.search(Q, K), KNN_FLOPS)


@pytest.mark.skipif(cupy is None, reason="no GPU (turbolearn.cuda.is_available() is False)")
@pytest.mark.benchmark(group="kneighbors 20k x 200k x 32 k=10")
def test_kneighbors_turbolearn_gpu(benchmark, knn_data):
    X, Q = (cupy.asarray(a) for a in knn_data)
    nn = NearestNeighbors(n_neighbors=K).fit(X)

    def search():
        result = nn.kneighbors(Q)
        cupy.cuda.get_current_stream().synchronize()
        return result

    run(benchmark, search, KNN_FLOPS)


# pairwise_distances materialises the matrix, so a smaller workload: 10,000 x 20,000 x 32.
PW_M, PW_N = scaled(10_000), scaled(20_000)
PW_FLOPS = 2 * PW_M * PW_N * N_FEATURES


@pytest.fixture(scope="module")
def pw_data(rng):
    return (rng.standard_normal((PW_M, N_FEATURES)).astype(np.float32),
            rng.standard_normal((PW_N, N_FEATURES)).astype(np.float32))


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_pairwise_turbolearn(benchmark, pw_data, metric):
    benchmark.group = f"pairwise_distances 10k x 20k x 32 {metric}"
    run(benchmark, lambda: pairwise_distances(*pw_data, metric=metric), PW_FLOPS)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_pairwise_sklearn(benchmark, pw_data, metric):
    from sklearn.metrics import pairwise_distances as sk_pairwise_distances

    benchmark.group = f"pairwise_distances 10k x 20k x 32 {metric}"
    run(benchmark, lambda: sk_pairwise_distances(*pw_data, metric=metric), PW_FLOPS, rounds=1)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_pairwise_torch_cdist(benchmark, pw_data, metric):
    torch = optional("torch")
    if torch is None:
        pytest.skip("PyTorch is not installed")
    X, Y = (torch.from_numpy(a) for a in pw_data)
    p = 2.0 if metric == "euclidean" else 1.0
    benchmark.group = f"pairwise_distances 10k x 20k x 32 {metric}"
    run(benchmark, lambda: torch.cdist(X, Y, p=p), PW_FLOPS)
