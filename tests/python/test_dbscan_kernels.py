"""The dbscan op family (cpp/dbscan.*, cuda/dbscan.cu) against scikit-learn's DBSCAN.

The reference is exact: same labels (scikit-learn's numbering, not up to renumbering), same
core points. Distances are computed in float64 by both, so float32 input must agree too.
Emulation runs small sizes (every GPU thread is a CPU thread).
"""
import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SklearnDBSCAN
from sklearn.datasets import make_blobs, make_moons

from turbolearn import _cpu, _ops


def reference(X, eps, min_samples, weight=None, metric="euclidean"):
    sk = SklearnDBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(X, sample_weight=weight)
    core = np.zeros(len(X), dtype=bool)
    core[sk.core_sample_indices_] = True
    return sk.labels_, core


def assert_same(X, eps, min_samples, weight=None, metric="euclidean", **kw):
    labels, core = _ops.dbscan(X, eps, min_samples, weight, metric, **kw)
    ref_labels, ref_core = reference(X, eps, min_samples, weight, metric)
    np.testing.assert_array_equal(core, ref_core)
    np.testing.assert_array_equal(labels, ref_labels)
    return labels


def moons(n, dtype, noise=0.06):
    return make_moons(n, noise=noise, random_state=0)[0].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_moons(backend, dtype, eps):
    labels = assert_same(moons(300, dtype), eps, 5)
    assert labels.max() >= 1 and (labels == -1).any() == (eps == 0.05)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 3, 5])
def test_blobs_weighted(backend, dtype, d, rng):
    X = make_blobs(250, n_features=d, centers=4, cluster_std=0.5, random_state=1)[0].astype(dtype)
    weight = rng.uniform(-0.5, 2.0, len(X))  # negative weights hold neighbours back
    assert_same(X, 0.5, 4, weight)


def test_manhattan(backend):
    assert_same(moons(200, np.float64), 0.12, 4, metric="manhattan")


def test_distance_exactly_eps_is_a_neighbour(backend):
    # An integer lattice: neighbours at distance exactly eps, so a strict compare fails.
    X = np.array([[i, j] for i in range(7) for j in range(5)], dtype=np.float64)
    labels, core = _ops.dbscan(X, 1.0, 5)
    assert core.sum() == 5 * 3  # interior points have 4 neighbours at exactly 1, plus themselves
    assert_same(X, 1.0, 5)
    assert_same(X[::2].copy(), 1.0, 2)


def test_border_point_takes_the_smallest_label(backend):
    # Point 7 (10.6) is a border point of both clusters. Cluster 0 is the one of 11.x (its
    # lowest core point, index 0, comes first), but 7's lowest-index core neighbour is 10.3
    # (index 6, cluster 1): scikit-learn gives it 0, the smallest label, not the neighbour's.
    X = np.array([11.0, 11.1, 11.2, 10.0, 10.1, 10.2, 10.3, 10.6, 10.9]).reshape(-1, 1)
    labels, core = _ops.dbscan(X, 0.35, 4)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 1, 0, 0] and not core[7]
    assert_same(X, 0.35, 4)


def test_all_noise_and_one_point(backend):
    X = np.arange(10, dtype=np.float64).reshape(-1, 1) * 10
    labels, core = _ops.dbscan(X, 1.0, 2)
    assert (labels == -1).all() and not core.any()
    labels, core = _ops.dbscan(X[:1].copy(), 1.0, 1)
    assert labels.tolist() == [0] and core.tolist() == [True]


def test_duplicates(backend):
    X = np.repeat(moons(40, np.float64), 3, axis=0)
    assert_same(X, 0.1, 4)


def test_range_too_wide_for_grid_keys():
    # 1e30 / 1e-3 cells does not fit an int64 key: that feature leaves the grid.
    X = np.array([[0.0, 0.0], [0.0, 5e-4], [1e30, 0.0], [1e30, 6e-4], [1e30, 1.2e-3]])
    assert_same(X, 1e-3, 2)


@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_cpu_threads_large(n_threads):
    # Enough points and threads for concurrent unions of one cluster from many cells.
    X = moons(20000, np.float32, noise=0.08)
    assert_same(X, 0.02, 5, n_threads=n_threads)


def test_cpu_blobs_8d():
    X = make_blobs(4000, n_features=8, centers=10, cluster_std=0.4, random_state=3)[0]
    assert_same(X, 0.8, 10)


def test_every_simd_level(simd_level):
    assert_same(moons(1000, np.float32), 0.05, 5)  # runs of every length mod the width
    assert_same(make_blobs(500, n_features=6, centers=5, random_state=0)[0], 1.0, 5,
                metric="manhattan")


def test_bad_input(backend):
    X = moons(20, np.float64)
    labels = np.empty(20, np.int64)
    core = np.empty(20, np.uint8)
    module = _ops.module_for(X)
    with pytest.raises(ValueError, match="eps must be positive"):
        module.dbscan(X, 0.0, 5, None, "euclidean", labels, core)
    with pytest.raises(ValueError, match="eps must be positive"):
        module.dbscan(X, float("nan"), 5, None, "euclidean", labels, core)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        module.dbscan(X, 0.1, 5, np.ones(3), "euclidean", labels, core)
    with pytest.raises(TypeError, match="sample_weight must be float64"):
        module.dbscan(X, 0.1, 5, np.ones(20, np.float32), "euclidean", labels, core)
    with pytest.raises(TypeError, match="float32 or float64"):
        module.dbscan(X.astype(np.int64), 0.1, 5, None, "euclidean", labels, core)
    with pytest.raises(ValueError, match="2-D"):
        module.dbscan(X[:, 0].copy(), 0.1, 5, None, "euclidean", labels, core)
    with pytest.raises(ValueError, match="out_labels has the wrong shape"):
        module.dbscan(X, 0.1, 5, None, "euclidean", labels[:5], core)
    with pytest.raises(ValueError, match="unknown metric"):
        module.dbscan(X, 0.1, 5, None, "cosine", labels, core)
    if module is _cpu:  # the grid needs finite cell keys; the GPU scan just finds no neighbours
        for bad in (np.nan, np.inf):
            Xbad = X.copy()
            Xbad[3, 1] = bad
            with pytest.raises(ValueError, match="NaN or infinity"):
                module.dbscan(Xbad, 0.1, 5, None, "euclidean", labels, core)
    with pytest.raises(ValueError, match="C-contiguous"):
        module.dbscan(np.asfortranarray(X), 0.1, 5, None, "euclidean", labels, core)


def test_empty_input(backend):
    labels, core = _ops.dbscan(np.empty((0, 2)), 0.5, 5)
    assert labels.shape == (0,) and core.shape == (0,)
