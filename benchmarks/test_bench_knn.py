"""The kNN classifier and the silhouette score against the peers a user would pick instead.

KNeighborsClassifier.predict: 10,000 queries against 60,000 x 784 float32 training points
(MNIST-shaped random data, 10 classes), k = 5. silhouette_score: 20,000 x 32 float32, 10
clusters.

    python -m pytest benchmarks/test_bench_knn.py --benchmark-only -s
"""
import numpy as np
import pytest
import sklearn.metrics
from sklearn.neighbors import KNeighborsClassifier as SkKNeighborsClassifier

import turbolearn.cuda
from turbolearn.metrics import silhouette_score
from turbolearn.neighbors import KNeighborsClassifier

from conftest import optional, run, scaled

N_TRAIN, N_QUERY, N_FEATURES, N_CLASSES, K = scaled(60_000), scaled(10_000), 784, 10, 5
KNN_FLOPS = 2 * N_QUERY * N_TRAIN * N_FEATURES  # the GEMM part, which bounds the work
KNN_GROUP = "KNeighborsClassifier.predict 10k x 60k x 784 k=5"
sklearnex = optional("sklearnex.neighbors")
cupy = optional("cupy") if turbolearn.cuda.is_available() else None


@pytest.fixture(scope="module")
def mnist_shaped(rng):
    X = rng.random((N_TRAIN, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, N_TRAIN)
    Q = rng.random((N_QUERY, N_FEATURES), dtype=np.float32)
    return X, y, Q


@pytest.mark.benchmark(group=KNN_GROUP)
def test_knn_predict_turbolearn(benchmark, mnist_shaped):
    X, y, Q = mnist_shaped
    clf = KNeighborsClassifier(n_neighbors=K).fit(X, y)
    run(benchmark, lambda: clf.predict(Q), KNN_FLOPS)


@pytest.mark.benchmark(group=KNN_GROUP)
def test_knn_predict_sklearn(benchmark, mnist_shaped):
    X, y, Q = mnist_shaped
    clf = SkKNeighborsClassifier(n_neighbors=K, algorithm="brute").fit(X, y)
    run(benchmark, lambda: clf.predict(Q), KNN_FLOPS, rounds=1)


@pytest.mark.skipif(sklearnex is None, reason="scikit-learn-intelex is not installed")
@pytest.mark.benchmark(group=KNN_GROUP)
def test_knn_predict_sklearnex(benchmark, mnist_shaped):
    X, y, Q = mnist_shaped
    clf = sklearnex.KNeighborsClassifier(n_neighbors=K, algorithm="brute").fit(X, y)
    run(benchmark, lambda: clf.predict(Q), KNN_FLOPS)


@pytest.mark.skipif(cupy is None, reason="no GPU (turbolearn.cuda.is_available() is False)")
@pytest.mark.benchmark(group=KNN_GROUP)
def test_knn_predict_turbolearn_gpu(benchmark, mnist_shaped):
    X, y, Q = (cupy.asarray(a) for a in mnist_shaped)
    clf = KNeighborsClassifier(n_neighbors=K).fit(X, y)

    def predict():
        result = clf.predict(Q)
        cupy.cuda.get_current_stream().synchronize()
        return result

    run(benchmark, predict, KNN_FLOPS)


N_SIL, D_SIL = scaled(20_000), 32
SIL_FLOPS = 2 * N_SIL * N_SIL * D_SIL  # the distances' GEMM
SIL_GROUP = "silhouette_score 20k x 32, 10 clusters"


@pytest.fixture(scope="module")
def blobs(rng):
    labels = rng.integers(0, N_CLASSES, N_SIL)
    centers = 3 * rng.standard_normal((N_CLASSES, D_SIL))
    X = (rng.standard_normal((N_SIL, D_SIL)) + centers[labels]).astype(np.float32)
    return X, labels


@pytest.mark.benchmark(group=SIL_GROUP)
def test_silhouette_turbolearn(benchmark, blobs):
    run(benchmark, lambda: silhouette_score(*blobs), SIL_FLOPS)


@pytest.mark.benchmark(group=SIL_GROUP)
def test_silhouette_sklearn(benchmark, blobs):
    run(benchmark, lambda: sklearn.metrics.silhouette_score(*blobs), SIL_FLOPS, rounds=1)
