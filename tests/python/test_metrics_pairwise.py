"""turbolearn.metrics.pairwise_distances against scikit-learn, and its input checks."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.metrics
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from turbolearn import _ops
from turbolearn.metrics import pairwise_distances

METRICS = ["euclidean", "sqeuclidean", "cosine", "manhattan", "l2", "l1", "cityblock"]
DTYPES = [np.float32, np.float64]
# Relative tolerance against scikit-learn; the data are O(1), so the same value
# serves as absolute tolerance for distances near zero (cosine, near neighbours).
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _data(n, d, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


def _reference(X, Y, metric):
    """scikit-learn's distances, computed in float64."""
    Y = None if Y is None else Y.astype(np.float64)
    return sklearn.metrics.pairwise_distances(X.astype(np.float64), Y, metric=metric)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n, d", [(1, 1, 1), (7, 5, 3), (65, 33, 17), (130, 257, 9)])
def test_matches_sklearn(backend, metric, dtype, m, n, d):
    X, Y = _data(m, d, dtype, seed=1), _data(n, d, dtype, seed=2)
    tol = TOL[dtype]

    D = pairwise_distances(X, Y, metric=metric)
    assert D.dtype == dtype and D.shape == (m, n)
    np.testing.assert_allclose(D, _reference(X, Y, metric), rtol=tol, atol=tol)

    D = pairwise_distances(X, metric=metric)
    assert D.dtype == dtype and D.shape == (m, m)
    np.testing.assert_allclose(D, _reference(X, None, metric), rtol=tol, atol=tol)
    assert np.all(np.diag(D) == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_zero_rows_as_sklearn(backend, dtype):
    # scikit-learn takes a zero vector's direction as undefined: distance 1 to
    # everything, itself included unless X is compared with itself (Y None or X).
    X = _data(5, 3, dtype)
    X[[1, 3]] = 0
    X64, other = X.astype(np.float64), X.copy()
    for Y, Y64 in [(None, None), (X, X64), (other, other.astype(np.float64))]:
        expected = sklearn.metrics.pairwise_distances(X64, Y64, metric="cosine")
        np.testing.assert_allclose(
            pairwise_distances(X, Y, metric="cosine"), expected, atol=TOL[dtype]
        )


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_sizes_not_multiple_of_tiles(metric):
    X, Y = _data(1031, 67, np.float64, seed=3), _data(257, 67, np.float64, seed=4)
    D = pairwise_distances(X, Y, metric=metric)
    np.testing.assert_allclose(D, _reference(X, Y, metric), rtol=1e-12, atol=1e-12)


def test_dtype_rules():
    X32, X64 = _data(6, 3, np.float32), _data(5, 3, np.float64)
    assert pairwise_distances(X32, X32).dtype == np.float32
    assert pairwise_distances(X32, X64).dtype == np.float64
    assert pairwise_distances(X64, X32).dtype == np.float64
    assert pairwise_distances(X32.astype(np.float16)).dtype == np.float64


def test_int_and_list_input_as_sklearn():
    X = np.arange(12, dtype=np.int32).reshape(4, 3) % 5
    Y = [[0, 1, 2], [3, 4, 5]]
    for metric in ("euclidean", "manhattan", "cosine"):
        D = pairwise_distances(X, Y, metric=metric)
        expected = sklearn.metrics.pairwise_distances(X, Y, metric=metric)
        assert D.dtype == expected.dtype == np.float64
        np.testing.assert_allclose(D, expected, rtol=1e-12, atol=1e-12)


def test_non_contiguous_input():
    X = _data(40, 6, np.float64)
    expected = pairwise_distances(X[::2, 1:4].copy(), X[:5, 1:4].copy())
    np.testing.assert_array_equal(
        pairwise_distances(X[::2, 1:4], np.asfortranarray(X[:5, 1:4])), expected
    )


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_same_result(n_jobs):
    X, Y = _data(300, 8, np.float64), _data(70, 8, np.float64, seed=1)
    np.testing.assert_array_equal(pairwise_distances(X, Y, n_jobs=n_jobs), pairwise_distances(X, Y))


@pytest.mark.parametrize("n_jobs, n_threads", [(None, None), (3, 3), (-1, joblib.cpu_count())])
def test_n_jobs_sets_kernel_threads(monkeypatch, n_jobs, n_threads):
    calls = []

    def record(*args, _op=_ops.pairwise_distances, **kwargs):
        calls.append(kwargs["n_threads"])
        return _op(*args, **kwargs)

    monkeypatch.setattr(_ops, "pairwise_distances", record)
    pairwise_distances(_data(3, 2, np.float64), n_jobs=n_jobs)
    # None leaves the choice to turbolearn.set_num_threads.
    assert calls == [n_threads]


def test_n_jobs_zero():
    with pytest.raises(ValueError, match="n_jobs == 0"):
        pairwise_distances(_data(3, 2, np.float64), n_jobs=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "Y"])
def test_non_finite(bad, where):
    X, Y = _data(4, 3, np.float64), _data(5, 3, np.float64)
    (X if where == "X" else Y)[1, 2] = bad
    with pytest.raises(ValueError, match=f"Input {where} contains"):
        pairwise_distances(X, Y)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros(3), "Expected 2D array"),
        (np.zeros((2, 3, 4)), "Found array with dim 3"),
        (np.zeros((0, 3)), "0 sample"),
        (np.zeros((3, 0)), "0 feature"),
    ],
)
def test_bad_shapes(X, match):
    with pytest.raises(ValueError, match=match):
        pairwise_distances(X)
    with pytest.raises(ValueError, match=match):
        pairwise_distances(np.ones((2, 3)), X)


def test_mismatched_features():
    msg = r"Incompatible dimension for X and Y matrices: X.shape\[1\] == 3 while Y.shape\[1\] == 4"
    with pytest.raises(ValueError, match=msg):
        pairwise_distances(np.ones((2, 3)), np.ones((2, 4)))


def test_sparse_rejected():
    with pytest.raises(TypeError, match="dense data is required"):
        pairwise_distances(sp.csr_matrix(np.eye(3)))


@pytest.mark.parametrize("metric", ["minkowski", "chebyshev", "precomputed", "EUCLIDEAN", len])
def test_unknown_metric(metric):
    with pytest.raises(ValueError, match=r"Valid metrics are \['cityblock', 'cosine'"):
        pairwise_distances(np.ones((2, 3)), metric=metric)


def _rounding_bound(metric, X):
    """Absolute rounding error allowed between two float computations of D(X, X).

    The error of a sum of d terms is about d * eps times the size of the terms; for
    the squared euclidean distance the terms are the squared norms (the kernels may
    expand |x - y|^2 = |x|^2 + |y|^2 - 2 x.y), and the euclidean distance is its root.
    """
    eps = np.finfo(X.dtype).eps
    X = X.astype(np.float64)
    d = X.shape[1]
    if metric in ("euclidean", "sqeuclidean"):
        sq = 8 * d * eps * (np.sum(X**2, axis=1).max() + 1)
        return sq if metric == "sqeuclidean" else np.sqrt(sq)
    if metric == "manhattan":
        return 4 * d * eps * (np.abs(X).sum(axis=1).max() + 1)
    return 8 * d * eps  # cosine: a difference of terms of size at most 1


@settings(deadline=None, max_examples=60)
@given(
    data=st.data(),
    metric=st.sampled_from(["euclidean", "sqeuclidean", "cosine", "manhattan"]),
    dtype=st.sampled_from(DTYPES),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)),
)
def test_properties(data, metric, dtype, shape):
    m, n, d = shape
    elements = st.floats(-100, 100, width=np.finfo(dtype).bits)
    X = data.draw(hnp.arrays(dtype, (m, d), elements=elements))
    Y = data.draw(hnp.arrays(dtype, (n, d), elements=elements))
    tol = _rounding_bound(metric, np.vstack([X, Y]))

    D = pairwise_distances(X, metric=metric)
    assert D.shape == (m, m) and D.dtype == dtype
    assert np.all(D >= 0)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(D, D.T, rtol=0, atol=tol)

    DXY = pairwise_distances(X, Y, metric=metric)
    assert DXY.shape == (m, n) and np.all(DXY >= 0)
    np.testing.assert_allclose(DXY, pairwise_distances(Y, X, metric=metric).T, rtol=0, atol=tol)
