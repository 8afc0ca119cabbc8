"""The k-means op family (cpp/kmeans.*, cuda/kmeans.cu) against NumPy references, on the CPU
and the CUDA kernels under emulation (the `backend` fixture), at every SIMD level.

References compute in float64 from differences. Labels must match exactly (the data keep
every sample's two nearest centres apart); inertia and centres within rtol 1e-12 (float64)
or 1e-5 (float32).
"""
import numpy as np
import pytest

from turbolearn import _ops

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
SHAPES = [(1, 1, 1), (2, 3, 2), (37, 5, 3), (130, 17, 16), (257, 7, 17), (1000, 32, 64),
          (523, 9, 130)]


def sq_dists(X, C):
    return ((X[:, None, :].astype(np.float64) - C[None, :, :].astype(np.float64)) ** 2).sum(-1)


def ref_assign(X, C, w):
    D = sq_dists(X, C)
    labels = D.argmin(axis=1)
    return labels, float((D[np.arange(len(X)), labels] * w).sum())


def ref_lloyd(X, C, w):
    """scikit-learn's lloyd iteration in float64 NumPy (relocation included)."""
    n, k = len(X), len(C)
    labels, _ = ref_assign(X, C, w)
    sums = np.zeros((k, X.shape[1]))
    weights = np.zeros(k)
    np.add.at(sums, labels, X.astype(np.float64) * w[:, None])
    np.add.at(weights, labels, w.astype(np.float64))
    empty = np.flatnonzero(weights == 0)
    if empty.size:
        dist = sq_dists(X, C)[np.arange(n), labels]
        if dist.max() > 0:
            far = np.lexsort((np.arange(n), -dist))[: empty.size]  # farthest first, ties: lower
            for to, f in zip(empty, far):
                sums[labels[f]] -= X[f] * w[f]
                sums[to] = X[f] * w[f]
                weights[labels[f]] -= w[f]
                weights[to] = w[f]
    heaviest = weights.argmax()
    src = np.where(weights > 0, np.arange(k), heaviest)
    centers = sums[src] / np.where(weights[src] > 0, weights[src], 1)[:, None]
    return labels, centers, weights, np.linalg.norm(centers - C, axis=1)


def problem(rng, shape, dtype, weights=True):
    n, d, k = shape
    X = rng.standard_normal((n, d)).astype(dtype)
    C = (X[rng.choice(n, k, replace=n < k)] + 0.05 * rng.standard_normal((k, d))).astype(dtype)
    w = (rng.random(n) + 0.5 if weights else np.ones(n)).astype(dtype)
    return X, C, w


def shrink(backend, shape):
    n, d, k = shape
    return (min(n, 300), d, k) if backend == "cuda_emu" else shape  # every GPU thread is a thread


def assert_close(actual, expected, dtype, scale=1.0):
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sqnorms(backend, rng, dtype):
    X = rng.standard_normal((1037, 33)).astype(dtype)
    out = _ops.kmeans_row_sqnorms(X)
    assert out.dtype == dtype and out.shape == (1037,)
    assert_close(out, (X.astype(np.float64) ** 2).sum(1), dtype, 33)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("exact", [True, False])
def test_assign_matches_numpy(backend, rng, dtype, shape, exact):
    X, C, w = problem(rng, shrink(backend, shape), dtype)
    labels = np.full(len(X), -1, dtype=np.int32)
    inertia, changed = _ops.kmeans_assign(X, C, w, labels, exact=exact,
                                          x_sqnorms=None if exact else _ops.kmeans_row_sqnorms(X))
    ref_labels, ref_inertia = ref_assign(X, C, w)
    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == len(X)
    # The GEMM-based inertia loses digits to cancellation (float32: ~1e-6 of ||x||^2 each).
    scale = 1.0 if exact else float((X.astype(np.float64) ** 2).sum())
    assert_close(inertia, ref_inertia, dtype, scale * (1 if exact else 10))
    # Labels held on entry count as unchanged.
    again, changed = _ops.kmeans_assign(X, C, w, labels, exact=True)
    assert changed == 0 and np.isclose(again, ref_inertia, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_assign_every_simd_level(simd_level, rng, dtype):
    X, C, w = problem(rng, (999, 19, 37), dtype)
    labels = np.zeros(len(X), dtype=np.int32)
    inertia, _ = _ops.kmeans_assign(X, C, w, labels, exact=True)
    ref_labels, ref_inertia = ref_assign(X, C, w)
    np.testing.assert_array_equal(labels, ref_labels)
    assert_close(inertia, ref_inertia, dtype)


def test_ties_go_to_the_lower_centre(backend):
    # Every sample is exactly equidistant from centres 1 and 3 (and 0, 2 are farther).
    X = np.zeros((50, 4))
    X[:, 0] = np.arange(50) % 7
    C = np.array([[100.0, 0, 0, 0], [0, 5, 0, 0], [0, 0, 0, 50], [0, -5, 0, 0]])
    for dtype in (np.float32, np.float64):
        labels = np.full(50, -1, dtype=np.int32)
        _ops.kmeans_assign(X.astype(dtype), C.astype(dtype), np.ones(50, dtype), labels)
        assert np.all(labels == 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_lloyd_iter_matches_numpy(backend, rng, dtype, shape):
    X, C, w = problem(rng, shrink(backend, shape), dtype)
    k, d = C.shape
    centers_new = np.empty_like(C)
    weights, shift = np.empty(k, dtype), np.empty(k, dtype)
    labels = np.full(len(X), -1, dtype=np.int32)
    inertia, changed = _ops.kmeans_lloyd_iter(X, _ops.kmeans_row_sqnorms(X), w, C, centers_new,
                                              weights, labels, shift)
    ref_labels, ref_centers, ref_weights, ref_shift = ref_lloyd(X, C, w)
    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == len(X)
    assert_close(centers_new, ref_centers, dtype, 10)
    assert_close(weights, ref_weights, dtype, len(X))
    assert_close(shift, ref_shift, dtype, 10)
    assert np.isclose(inertia, ref_assign(X, C, w)[1], rtol=1e-4 if dtype == np.float32 else 1e-10)


def test_lloyd_iter_relocates_empty_clusters(backend):
    # Centres 1 and 3 attract no point: they take the two points farthest from their centres,
    # farthest first, and the centres those points leave lose their contribution.
    X = np.array([[0.0, 0], [0.5, 0], [10, 0], [10.2, 0], [0, 7], [10, -9], [0.1, 0]])
    C = np.array([[0.0, 0], [100, 100], [10, 0], [-100, 100]])
    w = np.array([1.0, 2, 1, 1, 3, 1, 1])
    for dtype in (np.float32, np.float64):
        out, weights, shift = np.empty_like(C, dtype), np.empty(4, dtype), np.empty(4, dtype)
        labels = np.full(7, -1, dtype=np.int32)
        _ops.kmeans_lloyd_iter(X.astype(dtype), _ops.kmeans_row_sqnorms(X.astype(dtype)),
                               w.astype(dtype), C.astype(dtype), out, weights, labels, shift)
        _, ref_centers, ref_weights, ref_shift = ref_lloyd(X, C, w)
        np.testing.assert_allclose(out, ref_centers, rtol=1e-6)
        np.testing.assert_allclose(weights, ref_weights, rtol=1e-6)
        np.testing.assert_allclose(shift, ref_shift, rtol=1e-6, atol=1e-5)  # |C| ~ 100
        np.testing.assert_allclose(out[1], [10, -9])  # the farthest point (distance 9)
        np.testing.assert_allclose(out[3], [0, 7])  # then the next (distance 7)


def test_lloyd_iter_no_relocation_when_points_sit_on_centres(backend):
    # More clusters than distinct points: the empty ones take the heaviest centre's mean.
    X = np.array([[1.0, 2.0]] * 5 + [[3.0, 3.0]] * 2)
    C = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 3.0]])
    out, weights, shift = np.empty_like(C), np.empty(3), np.empty(3)
    labels = np.full(7, -1, dtype=np.int32)
    _ops.kmeans_lloyd_iter(X, _ops.kmeans_row_sqnorms(X), np.ones(7), C, out, weights, labels,
                           shift)
    np.testing.assert_array_equal(labels, [0] * 5 + [2] * 2)
    np.testing.assert_array_equal(out, [[1, 2], [1, 2], [3, 3]])
    np.testing.assert_array_equal(weights, [5, 0, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_place", [False, True])
def test_minibatch_step_matches_numpy(backend, rng, dtype, in_place):
    X, C, w = problem(rng, (300, 6, 9), dtype)
    counts = np.array([0, 3, 0, 10, 1, 0, 7, 2, 5], dtype=dtype)
    centers = C.copy()
    out = centers if in_place else np.empty_like(C)
    labels = np.zeros(300, dtype=np.int32)
    inertia, _ = _ops.kmeans_minibatch_step(X, w, centers, out, counts, labels)
    ref_labels, ref_inertia = ref_assign(X, C, w)
    np.testing.assert_array_equal(labels, ref_labels)
    assert_close(inertia, ref_inertia, dtype)
    prior = np.array([0, 3, 0, 10, 1, 0, 7, 2, 5], dtype=np.float64)
    sums = np.zeros(C.shape)
    wsum = np.zeros(9)
    np.add.at(sums, ref_labels, X.astype(np.float64) * w[:, None])
    np.add.at(wsum, ref_labels, w.astype(np.float64))
    got = wsum > 0
    expected = C.astype(np.float64).copy()
    expected[got] = (C[got] * prior[got, None] + sums[got]) / (prior + wsum)[got, None]
    assert_close(out, expected, dtype, 10)
    assert_close(counts, prior + wsum, dtype, 100)


def test_outputs_and_inputs_are_checked():
    X = np.zeros((10, 3))
    C = np.zeros((4, 3))
    w = np.ones(10)
    labels = np.zeros(10, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype of X"):
        _ops.kmeans_assign(X, C.astype(np.float32), w, labels)
    with pytest.raises(TypeError, match="labels must have dtype i32"):
        _ops.kmeans_assign(X, C, w, labels.astype(np.int64))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        _ops.kmeans_assign(X, C, np.ones(9), labels)
    with pytest.raises(ValueError, match="features"):
        _ops.kmeans_assign(X, np.zeros((4, 2)), w, labels)
    with pytest.raises(ValueError, match="C-contiguous"):
        _ops.kmeans_assign(np.asfortranarray(np.zeros((10, 3))), C, w, labels)
    with pytest.raises(ValueError, match="x_sqnorms is required"):
        _ops.kmeans_assign(X, C, w, labels, exact=False)
    with pytest.raises(ValueError, match="at least one row"):
        _ops.kmeans_assign(X, np.zeros((0, 3)), w, labels)
    ro = labels.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _ops.kmeans_assign(X, C, w, ro)
    with pytest.raises(ValueError, match="must not be centers_old"):
        _ops.kmeans_lloyd_iter(X, np.zeros(10), w, C, C, np.zeros(4), labels, np.zeros(4))
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        _ops.kmeans_assign(X.tolist(), C, w, labels)


def test_empty_input_is_a_no_op(backend):
    X = np.zeros((0, 3))
    labels = np.zeros(0, dtype=np.int32)
    assert _ops.kmeans_assign(X, np.ones((2, 3)), np.ones(0), labels) == (0.0, 0)


def test_nan_input_does_not_crash(backend):
    X = np.array([[np.nan, 1.0], [0.0, 0.0], [np.inf, 2.0]])
    labels = np.full(3, -1, dtype=np.int32)
    _ops.kmeans_assign(X, np.array([[0.0, 0.0], [5.0, 5.0]]), np.ones(3), labels)
    assert labels[1] == 0 and np.all((labels >= 0) & (labels < 2))


def test_threads_give_the_same_labels(rng):
    X, C, w = problem(rng, (5000, 11, 23), np.float64)
    results = []
    for n_threads in (1, 2, 3):
        labels = np.zeros(len(X), dtype=np.int32)
        inertia, _ = _ops.kmeans_assign(X, C, w, labels, n_threads=n_threads)
        results.append((labels, inertia))
    for labels, inertia in results[1:]:
        np.testing.assert_array_equal(labels, results[0][0])
        assert np.isclose(inertia, results[0][1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_closest", [False, True])
def test_plusplus_distances_are_numpys_bit_for_bit(backend, rng, dtype, with_closest):
    # scikit-learn's k-means++ arithmetic: (-2 G + xx) + yy in float64, cast, clamped at 0,
    # then the minimum with the closest distances so far.
    m, n = 7, 1031
    G = rng.standard_normal((m, n)) * 10
    xx, yy = rng.random(m) * 10, rng.random(n) * 10
    G[0, :5] = (xx[0] + yy[:5]) / 2 + 1e-9  # slightly negative sums: clamped to 0
    closest = (rng.random(n) * 30).astype(dtype) if with_closest else None
    out = _ops.kmeans_plusplus_distances(G, xx, yy, closest, dtype=dtype)
    expected = -2 * G
    expected += xx[:, None]
    expected += yy
    expected = np.maximum(expected.astype(dtype), 0)
    if with_closest:
        expected = np.minimum(closest, expected)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, expected)
    assert np.all(out[0, :5] == 0)


def test_plusplus_distances_checks_its_arguments():
    G = np.zeros((2, 5))
    with pytest.raises(TypeError, match="G must be float64"):
        _ops.kmeans_plusplus_distances(G.astype(np.float32), np.zeros(2), np.zeros(5), dtype=np.float32)
    with pytest.raises(ValueError, match="yy must have shape"):
        _ops.kmeans_plusplus_distances(G, np.zeros(2), np.zeros(4), dtype=np.float32)
    with pytest.raises(TypeError, match="closest must have the dtype of out"):
        _ops.kmeans_plusplus_distances(G, np.zeros(2), np.zeros(5), np.zeros(5), dtype=np.float32)
    with pytest.raises(ValueError, match="closest must have 5 values"):
        _ops.kmeans_plusplus_distances(G, np.zeros(2), np.zeros(5), np.zeros(4), dtype=np.float64)
