"""metrics.silhouette_samples and silhouette_score against scikit-learn's."""

import numpy as np
import pytest
import sklearn
import sklearn.metrics

from turbolearn import _ops
from turbolearn.metrics import silhouette_samples, silhouette_score

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "l1"]
# float64: the brief's rtol 1e-6 (observed ~1e-11); silhouettes near 0 need the
# absolute part. float32: the distances themselves carry ~1e-7 relative error.
TOL = {np.float64: dict(rtol=1e-6, atol=1e-9), np.float32: dict(rtol=1e-4, atol=1e-5)}
SIZES = {"cpu": 400, "cuda_emu": 120}


def _clusters(n, n_labels=4, d=6, dtype=np.float64, seed=0):
    """Overlapping Gaussian blobs: silhouettes of both signs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_labels, n)
    X = rng.standard_normal((n, d)) + 1.5 * rng.standard_normal((n_labels, d))[labels]
    return X.astype(dtype), labels


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_sklearn(backend, metric, dtype):
    X, labels = _clusters(SIZES[backend], dtype=dtype)
    s = silhouette_samples(X, labels, metric=metric)
    ref = sklearn.metrics.silhouette_samples(X, labels, metric=metric)
    # scikit-learn's dtype depends on the metric; ours is always the input's.
    assert s.dtype == dtype
    assert (s > 0).any() and (s < 0).any()
    np.testing.assert_allclose(s, ref, **TOL[dtype])
    np.testing.assert_allclose(
        silhouette_score(X, labels, metric=metric),
        sklearn.metrics.silhouette_score(X, labels, metric=metric),
        **TOL[dtype],
    )


@pytest.mark.parametrize("working_memory", [0.001, 0.05])
def test_chunks(monkeypatch, working_memory):
    # 0.001 MiB holds less than one row (300 distances and 4 cluster sums): one row
    # per chunk; 0.05 MiB holds 21 rows, chunks that divide nothing.
    X, labels = _clusters(300)
    expected = sklearn.metrics.silhouette_samples(X, labels)
    rows = []

    def record(A, B, *args, _op=_ops.pairwise_distances, **kwargs):
        rows.append(A.shape[0])
        return _op(A, B, *args, **kwargs)

    monkeypatch.setattr(_ops, "pairwise_distances", record)
    with sklearn.config_context(working_memory=working_memory):
        s = silhouette_samples(X, labels)
    row_bytes = 300 * 8 + 4 * 8
    assert sum(rows) == 300 and max(rows) == max(1, int(working_memory * 2**20 // row_bytes))
    np.testing.assert_allclose(s, expected, **TOL[np.float64])


def test_many_clusters():
    # Clusters of 1 to 3 samples: as many clusters as a third of the samples or more.
    X, labels = _clusters(300, n_labels=120)
    assert np.unique(labels).size > 100
    np.testing.assert_allclose(
        silhouette_samples(X, labels), sklearn.metrics.silhouette_samples(X, labels),
        **TOL[np.float64]
    )


def test_singletons_score_zero():
    X, labels = _clusters(50)
    labels[[3, 9]] = [7, 8]  # two clusters of one sample
    s = silhouette_samples(X, labels)
    assert s[3] == s[9] == 0
    np.testing.assert_allclose(s, sklearn.metrics.silhouette_samples(X, labels), **TOL[np.float64])


def test_string_labels():
    X, labels = _clusters(60, n_labels=3)
    names = np.array(["a", "b", "c"])[labels]
    np.testing.assert_allclose(
        silhouette_samples(X, names), sklearn.metrics.silhouette_samples(X, labels),
        **TOL[np.float64]
    )


@pytest.mark.parametrize("metric", ["euclidean", "precomputed"])
def test_sample_size_draws_as_sklearn(metric):
    X, labels = _clusters(200)
    if metric == "precomputed":
        X = sklearn.metrics.pairwise_distances(X)
    for seed in (0, 3):
        score = silhouette_score(X, labels, metric=metric, sample_size=60, random_state=seed)
        ref = sklearn.metrics.silhouette_score(
            X, labels, metric=metric, sample_size=60, random_state=seed
        )
        assert score == pytest.approx(ref, rel=1e-6)
    # A different subset gives a different score: the sample is really drawn.
    assert silhouette_score(X, labels, sample_size=60, random_state=0) != pytest.approx(
        silhouette_score(X, labels, sample_size=60, random_state=3)
    )


def test_precomputed():
    X, labels = _clusters(100)
    D = sklearn.metrics.pairwise_distances(X, metric="manhattan")
    np.testing.assert_allclose(
        silhouette_samples(D, labels, metric="precomputed"),
        sklearn.metrics.silhouette_samples(X, labels, metric="manhattan"),
        **TOL[np.float64],
    )
    D[4, 4] = 1e-3
    for f in (silhouette_samples, sklearn.metrics.silhouette_samples):
        with pytest.raises(ValueError, match="non-zero elements on the diagonal"):
            f(D, labels, metric="precomputed")


@pytest.mark.parametrize("n_labels", [1, 10])
def test_number_of_labels_as_sklearn(n_labels):
    X = _clusters(10)[0]
    labels = np.arange(10) % n_labels
    for f in (silhouette_samples, silhouette_score,
              sklearn.metrics.silhouette_samples, sklearn.metrics.silhouette_score):
        with pytest.raises(
            ValueError,
            match=rf"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1",
        ):
            f(X, labels)


def test_bad_input():
    X, labels = _clusters(20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        silhouette_samples(X, labels[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        silhouette_score(X, labels[:-1], sample_size=5)
    bad = X.copy()
    bad[2, 3] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        silhouette_samples(bad, labels)
    with pytest.raises(ValueError, match="Expected 2D array"):
        silhouette_samples(X[0], labels[:1])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        silhouette_samples(X, np.stack([labels, labels], axis=1))
    with pytest.raises(ValueError, match="The 'metric' parameter of silhouette_samples"):
        silhouette_samples(X, labels, metric="chebyshev")
    with pytest.raises(ValueError, match="The 'sample_size' parameter of silhouette_score"):
        silhouette_score(X, labels, sample_size=0)
