"""The k-means op family: KMeans and MiniBatchKMeans against the peers a user would pick
instead (scikit-learn, scikit-learn-intelex), and one Lloyd iteration against scikit-learn's.

Workload of issue 3: 200,000 x 32 float32 points, 64 clusters; KMeans with init='random',
n_init=1, max_iter=30, tol=0 (so every library runs the same 30 iterations and a final
assignment: 31 passes of 2 n k d FLOPs). MiniBatchKMeans runs on blobs with its defaults and
prints the inertia each library reached.

    python -m pytest benchmarks/test_bench_kmeans.py --benchmark-only -s
"""
import numpy as np
import pytest
from sklearn.datasets import make_blobs

import turbolearn
import turbolearn.cuda
from turbolearn import _ops
from turbolearn.cluster import KMeans, MiniBatchKMeans

from conftest import optional, run, scaled

N, D, K, ITERS = scaled(200_000), 32, 64, 30
PASS_FLOPS = 2 * N * K * D
KMEANS_FLOPS = (ITERS + 1) * PASS_FLOPS
KMEANS_ARGS = dict(n_clusters=K, init="random", n_init=1, max_iter=ITERS, tol=0, random_state=0)
GROUP = f"KMeans {N // 1000}k x {D} k={K}, 30 iterations"
sklearnex = optional("sklearnex.cluster")
cupy = optional("cupy") if turbolearn.cuda.is_available() else None


@pytest.fixture(scope="module")
def data(rng):
    return rng.standard_normal((N, D)).astype(np.float32)


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=N, n_features=D, centers=K, cluster_std=3.0, random_state=0)
    return X.astype(np.float32)


def report(name, model):
    print(f"\n  {name}: inertia {model.inertia_:.6g}, n_iter {model.n_iter_}")


@pytest.mark.benchmark(group=GROUP)
def test_kmeans_turbolearn(benchmark, data):
    model = run(benchmark, lambda: KMeans(**KMEANS_ARGS).fit(data), KMEANS_FLOPS)
    report("turbolearn", model)


@pytest.mark.benchmark(group=GROUP)
def test_kmeans_sklearn(benchmark, data):
    from sklearn.cluster import KMeans as SkKMeans

    model = run(benchmark, lambda: SkKMeans(**KMEANS_ARGS).fit(data), KMEANS_FLOPS)
    report("scikit-learn", model)


@pytest.mark.skipif(sklearnex is None, reason="scikit-learn-intelex is not installed")
@pytest.mark.benchmark(group=GROUP)
def test_kmeans_sklearnex(benchmark, data):
    model = run(benchmark, lambda: sklearnex.KMeans(**KMEANS_ARGS).fit(data), KMEANS_FLOPS)
    report("scikit-learn-intelex", model)


@pytest.mark.skipif(cupy is None, reason="no GPU (turbolearn.cuda.is_available() is False)")
@pytest.mark.benchmark(group=GROUP)
def test_kmeans_turbolearn_gpu_kernels(benchmark, data):
    """The same 30 Lloyd iterations and final pass, on the GPU kernels (CuPy arrays)."""
    X = cupy.asarray(data)
    w = cupy.ones(N, dtype=cupy.float32)

    def fit():
        xn = _ops.kmeans_row_sqnorms(X)
        centers = X[cupy.asarray(np.random.RandomState(0).permutation(N)[:K])]
        new = cupy.empty_like(centers)
        weights, shift = cupy.empty(K, cupy.float32), cupy.empty(K, cupy.float32)
        labels = cupy.full(N, -1, dtype=cupy.int32)
        for _ in range(ITERS):
            _ops.kmeans_lloyd_iter(X, xn, w, centers, new, weights, labels, shift)
            centers, new = new, centers
        return _ops.kmeans_assign(X, centers, w, labels, exact=True)

    run(benchmark, fit, KMEANS_FLOPS)


PP_GROUP = f"KMeans {N // 1000}k x {D} k={K}, k-means++ init, 30 iterations"
PP_ARGS = dict(KMEANS_ARGS, init="k-means++")


@pytest.mark.benchmark(group=PP_GROUP)
def test_kmeans_plusplus_turbolearn(benchmark, data):
    run(benchmark, lambda: KMeans(**PP_ARGS).fit(data), KMEANS_FLOPS)


@pytest.mark.benchmark(group=PP_GROUP)
def test_kmeans_plusplus_sklearn(benchmark, data):
    from sklearn.cluster import KMeans as SkKMeans

    run(benchmark, lambda: SkKMeans(**PP_ARGS).fit(data), KMEANS_FLOPS)


LLOYD_GROUP = f"one Lloyd iteration {N // 1000}k x {D} k={K}"


@pytest.fixture(scope="module")
def lloyd_args(data):
    centers = np.ascontiguousarray(data[:K])
    return (data, np.ones(N, np.float32), centers, np.empty_like(centers), np.empty(K, np.float32),
            np.full(N, -1, np.int32), np.empty(K, np.float32))


@pytest.mark.benchmark(group=LLOYD_GROUP)
def test_lloyd_iter_turbolearn(benchmark, lloyd_args):
    X, w, centers, new, weights, labels, shift = lloyd_args
    xn = _ops.kmeans_row_sqnorms(X)
    run(benchmark, lambda: _ops.kmeans_lloyd_iter(X, xn, w, centers, new, weights, labels, shift),
        PASS_FLOPS, rounds=10)


@pytest.mark.benchmark(group=LLOYD_GROUP)
def test_lloyd_iter_sklearn(benchmark, lloyd_args):
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from threadpoolctl import threadpool_limits

    X, w, centers, new, weights, labels, shift = lloyd_args
    n_threads = _openmp_effective_n_threads()
    with threadpool_limits(1, user_api="blas"):  # as scikit-learn's KMeans runs it
        run(benchmark, lambda: lloyd_iter_chunked_dense(X, w, centers, new, weights, labels,
                                                        shift, n_threads), PASS_FLOPS, rounds=10)


MB_GROUP = f"MiniBatchKMeans {N // 1000}k x {D} k={K} (blobs)"


def minibatch_flops(model):
    return 2 * K * D * (model.n_steps_ * model._batch_size + N)


@pytest.mark.benchmark(group=MB_GROUP)
def test_minibatch_turbolearn(benchmark, blobs):
    model = MiniBatchKMeans(K, random_state=0).fit(blobs)
    run(benchmark, lambda: MiniBatchKMeans(K, random_state=0).fit(blobs), minibatch_flops(model))
    report("turbolearn MiniBatchKMeans", model)
    print(f"  steps {model.n_steps_}")


@pytest.mark.benchmark(group=MB_GROUP)
def test_minibatch_sklearn(benchmark, blobs):
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatchKMeans

    model = SkMiniBatchKMeans(K, random_state=0).fit(blobs)
    run(benchmark, lambda: SkMiniBatchKMeans(K, random_state=0).fit(blobs), minibatch_flops(model))
    report("scikit-learn MiniBatchKMeans", model)
    print(f"  steps {model.n_steps_}")
