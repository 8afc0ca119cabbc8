"""The distance op family (cpp/distance.*, cuda/distance.cu) against NumPy references.

Tolerances: float64 rtol 1e-12, float32 rtol 1e-5 (relative to the largest distance for the
GEMM-based metrics, whose round-off scales with the row norms).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import turbolearn
from turbolearn import _ops

RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def reference(X, Y, metric):
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    if metric == "manhattan":
        return np.abs(X[:, None, :] - Y[None, :, :]).sum(-1)
    if metric == "cosine":
        nx = np.linalg.norm(X, axis=1, keepdims=True)
        ny = np.linalg.norm(Y, axis=1, keepdims=True)
        nx[nx == 0] = 1
        ny[ny == 0] = 1
        return np.clip(1 - (X / nx) @ (Y / ny).T, 0, 2)
    sq = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    return sq if metric == "sqeuclidean" else np.sqrt(sq)


def assert_close(actual, expected, dtype):
    scale = max(np.abs(expected).max(), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def reference_argkmin(D, k):
    # lexsort: by distance, then by index, which is the tie rule of the kernels
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, order, axis=1), order


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", _ops.METRICS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 5, 3), (130, 257, 17), (33, 2100, 4)])
def test_pairwise_matches_numpy(backend, rng, dtype, metric, shape):
    m, n, d = shape
    if backend == "cuda_emu" and m * n > 20000:
        n = 150  # the emulator runs every GPU thread as a CPU thread
    X = rng.standard_normal((m, d)).astype(dtype)
    Y = rng.standard_normal((n, d)).astype(dtype)
    D = _ops.pairwise_distances(X, Y, metric)
    assert D.dtype == dtype and D.shape == (m, n)
    assert_close(D, reference(X, Y, metric), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", _ops.METRICS)
def test_pairwise_self_has_exact_zero_diagonal(backend, rng, dtype, metric):
    X = (rng.standard_normal((45, 6)) * 100 + 1000).astype(dtype)  # far from the origin
    D = _ops.pairwise_distances(X, None, metric)
    assert np.all(np.diag(D) == 0)
    assert np.all(D >= 0)
    assert_close(D, reference(X, X, metric) * (1 - np.eye(45)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", _ops.METRICS)
@pytest.mark.parametrize("shape,k", [((1, 1, 2), 1), ((40, 300, 5), 7), ((129, 2049, 9), 16), ((3, 50, 3), 50)])
def test_argkmin_matches_numpy(backend, rng, dtype, metric, shape, k):
    m, n, d = shape
    if backend == "cuda_emu":
        m = min(m, 20)
    X = rng.standard_normal((m, d)).astype(dtype)
    Y = rng.standard_normal((n, d)).astype(dtype)
    dist, idx = _ops.argkmin(X, Y, k, metric)
    assert dist.dtype == dtype and idx.dtype == np.int64 and dist.shape == idx.shape == (m, k)
    ref_dist, ref_idx = reference_argkmin(reference(X, Y, metric), k)
    np.testing.assert_array_equal(idx, ref_idx)
    assert_close(dist, ref_dist, dtype)


@pytest.mark.parametrize("metric", _ops.METRICS)
def test_argkmin_ties_go_to_the_lower_index(backend, metric):
    # every data row appears three times: equal distances, so the order is by index alone
    base = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [-1.0, -1.0]])
    Y = np.repeat(base, 3, axis=0)
    X = np.array([[0.5, 0.5], [2.0, 2.0]])
    dist, idx = _ops.argkmin(X, Y, 6, metric)
    ref_dist, ref_idx = reference_argkmin(reference(X, Y, metric), 6)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)


@pytest.mark.parametrize("metric", _ops.METRICS)
def test_argkmin_self_is_exactly_zero_and_first(backend, rng, metric):
    X = (rng.standard_normal((60, 4)) + 50).astype(np.float32)
    dist, idx = _ops.argkmin(X, None, 3, metric)
    np.testing.assert_array_equal(idx[:, 0], np.arange(60))
    assert np.all(dist[:, 0] == 0)


def test_argkmin_float32_is_accurate_for_close_points_far_from_the_origin(backend, rng):
    # the GEMM trick alone would lose every digit here; the winners are recomputed
    Y = (1000 + rng.random((500, 2)) * 1e-2).astype(np.float32)
    X = Y[:10] + np.float32(1e-4)
    dist, idx = _ops.argkmin(X, Y, 3, "euclidean")
    ref = reference(X, Y, "euclidean")
    np.testing.assert_allclose(dist, np.take_along_axis(ref, idx, 1), rtol=1e-3)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
def test_float32_euclidean_is_accurate_far_from_the_origin(backend, rng, metric):
    # unit spread at 1e4: a plain float32 GEMM trick would be off by ~1e4 * 1e-7 * 1e4 = 10
    X = (1e4 + rng.standard_normal((60, 8))).astype(np.float32)
    Y = (1e4 + rng.standard_normal((300, 8))).astype(np.float32)
    ref = reference(X, Y, metric)
    np.testing.assert_allclose(_ops.pairwise_distances(X, Y, metric), ref, rtol=1e-3, atol=1e-3)
    dist, idx = _ops.argkmin(X, Y, 4, metric)
    np.testing.assert_allclose(dist, reference_argkmin(ref, 4)[0], rtol=1e-4)
    # near-ties within float32 rounding of the inputs may swap; what is returned must be right
    np.testing.assert_allclose(np.take_along_axis(ref, idx, 1), dist, rtol=1e-4)


def test_every_simd_level_gives_the_same_neighbours(simd_level, rng):
    X = rng.standard_normal((70, 13)).astype(np.float32)
    Y = rng.standard_normal((3001, 13)).astype(np.float32)
    for metric in _ops.METRICS:
        dist, idx = _ops.argkmin(X, Y, 5, metric)
        ref_dist, ref_idx = reference_argkmin(reference(X, Y, metric), 5)
        np.testing.assert_array_equal(idx, ref_idx)
        assert_close(dist, ref_dist, np.float32)
        assert_close(_ops.pairwise_distances(X, Y, metric), reference(X, Y, metric), np.float32)


def test_emulated_cuda_kernels_agree_with_cpu_kernels(rng):
    X = rng.standard_normal((37, 11))
    Y = rng.standard_normal((401, 11))
    for metric in _ops.METRICS:
        cpu = _ops.argkmin(X, Y, 9, metric), _ops.pairwise_distances(X, Y, metric)
        with _ops.use_backend("cuda_emu"):
            emu = _ops.argkmin(X, Y, 9, metric), _ops.pairwise_distances(X, Y, metric)
        np.testing.assert_array_equal(emu[0][1], cpu[0][1])
        np.testing.assert_allclose(emu[0][0], cpu[0][0], rtol=1e-12)
        np.testing.assert_allclose(emu[1], cpu[1], rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 60), d=st.integers(1, 9), data=st.data())
def test_argkmin_property_any_shape(m, n, d, data):
    k = data.draw(st.integers(1, n))
    metric = data.draw(st.sampled_from(_ops.METRICS))
    rng = np.random.default_rng(m * 1000 + n * 10 + d)
    X, Y = rng.standard_normal((m, d)), rng.standard_normal((n, d))
    dist, idx = _ops.argkmin(X, Y, k, metric)
    D = reference(X, Y, metric)
    ref_dist, _ = reference_argkmin(D, k)
    # exact ties (cosine in 1-D) may differ by round-off, so check what the indices point at
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), ref_dist, rtol=1e-10, atol=1e-12)
    assert all(len(set(row)) == k for row in idx.tolist())
    assert np.all(np.diff(dist, axis=1) >= 0)


@pytest.mark.parametrize(
    "X,Y,error,match",
    [
        (np.zeros((3, 2), np.int64), np.zeros((3, 2), np.int64), TypeError, "float32 or float64"),
        (np.zeros((3, 2)), np.zeros((3, 2), np.float32), TypeError, "same dtype"),
        (np.zeros((3, 2)), np.zeros((3, 4)), ValueError, "same number of features"),
        (np.zeros(3), np.zeros((3, 1)), ValueError, "2-D"),
        (np.zeros((3, 0)), np.zeros((3, 0)), ValueError, "at least one feature"),
        (np.zeros((4, 6))[:, ::2], np.zeros((3, 3)), ValueError, "C-contiguous"),
    ],
)
def test_bad_input_raises_clear_errors(backend, X, Y, error, match):
    with pytest.raises(error, match=match):
        _ops.pairwise_distances(X, Y)
    with pytest.raises(error, match=match):
        _ops.argkmin(X, Y, 1)


def test_bad_k_and_metric(backend):
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="k must be between 1 and"):
        _ops.argkmin(X, X, 4)
    with pytest.raises(ValueError, match="k must be between 1 and"):
        _ops.argkmin(X, X, 0)
    with pytest.raises(ValueError, match="unknown metric"):
        _ops.pairwise_distances(X, X, "chebyshev")
    with pytest.raises(TypeError, match="NumPy or CuPy"):
        _ops.pairwise_distances([[0.0]], np.zeros((1, 1)))


def test_nan_input_never_crashes(backend):
    X = np.full((4, 3), np.nan)
    dist, idx = _ops.argkmin(X, np.zeros((5, 3)), 2)
    # garbage in is flagged, not hidden: every distance is NaN and every index in range
    assert np.isnan(dist).all() and ((idx >= -1) & (idx < 5)).all()
    assert np.isnan(_ops.pairwise_distances(X, np.zeros((5, 3)))).all()


def test_empty_query_set(backend):
    dist, idx = _ops.argkmin(np.zeros((0, 3)), np.zeros((5, 3)), 2)
    assert dist.shape == idx.shape == (0, 2)
    assert _ops.pairwise_distances(np.zeros((0, 3)), np.zeros((5, 3))).shape == (0, 5)


def test_threads_are_respected_and_visible_to_threadpoolctl(rng):
    from threadpoolctl import threadpool_info, threadpool_limits

    assert any(lib["internal_api"] == "openmp" for lib in threadpool_info())
    X = rng.standard_normal((300, 8))
    expected = _ops.argkmin(X, None, 4)
    saved = turbolearn.get_num_threads()
    try:
        turbolearn.set_num_threads(1)
        assert turbolearn.get_num_threads() == 1
        np.testing.assert_array_equal(_ops.argkmin(X, None, 4)[1], expected[1])
        turbolearn.set_num_threads(saved)
        with threadpool_limits(1, user_api="openmp"):
            assert turbolearn.get_num_threads() == 1
        assert turbolearn.get_num_threads() == saved
        with pytest.raises(ValueError):
            turbolearn.set_num_threads(0)
    finally:
        turbolearn.set_num_threads(saved)
