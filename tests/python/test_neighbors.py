"""turbolearn.neighbors.NearestNeighbors against scikit-learn's NearestNeighbors."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.metrics
import sklearn.neighbors
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from turbolearn import _ops
from turbolearn.neighbors import NearestNeighbors
from turbolearn.neighbors import _base

# (metric, p) pairs: every metric name the estimator accepts.
METRICS = [
    ("minkowski", 2),
    ("minkowski", 1),
    ("euclidean", 2),
    ("l2", 2),
    ("sqeuclidean", 2),
    ("cosine", 2),
    ("manhattan", 2),
    ("l1", 2),
    ("cityblock", 2),
]
# The aliases run the same kernels, so the emulated CUDA kernels (slow: every GPU
# thread is a CPU thread) are checked once per kernel metric.
KERNEL_CASES = [("cpu", *mp) for mp in METRICS] + [
    ("cuda_emu", metric, 2) for metric in ("euclidean", "sqeuclidean", "cosine", "manhattan")
]
DTYPES = [np.float32, np.float64]
# Relative tolerance against scikit-learn; the data are O(1), so the same value
# serves as absolute tolerance for distances near zero.
TOL = {np.float32: 1e-5, np.float64: 1e-12}
# Training-set sizes that are no multiple of any tile; the emulator gets small ones.
SIZES = {"cpu": [1, 7, 257, 1031], "cuda_emu": [1, 7, 130]}


def _data(n, d, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


def _pair(metric, p, **params):
    """Our estimator and scikit-learn's, with the same parameters."""
    params = dict(metric=metric, p=p, **params)
    return NearestNeighbors(**params), sklearn.neighbors.NearestNeighbors(**params)


def _gap_radius(ref, X, Q):
    """A radius halfway across the widest gap between the 20th and 40th percentiles
    of the reference distances, so that rounding cannot move a point across it."""
    d = np.unique(sklearn.metrics.pairwise_distances(Q, X, metric=ref.effective_metric_))
    d = np.append(d, d[-1] + 1)  # a gap even when there is a single distance
    lo = len(d) // 5
    i = lo + np.argmax(np.diff(d[lo : max(2 * len(d) // 5, lo + 1) + 1]))
    return (d[i] + d[i + 1]) / 2


def _assert_rows_equal(ours, ref, tol=0):
    """Object arrays of per-query arrays are equal."""
    assert ours.dtype == object and len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _assert_same_neighbours(ours, ref, tol, sorted_results=False):
    """radius_neighbors results hold the same neighbours and distances.

    scikit-learn lists them in an order of its own, and float32 rounding may swap
    near-equal distances, so rows are compared in index order; with
    ``sorted_results`` our rows must also be sorted by distance.
    """
    (dist, ind), (ref_dist, ref_ind) = ours, ref
    assert dist.dtype == ind.dtype == object and len(ind) == len(ref_ind)
    for d, i, rd, ri in zip(dist, ind, ref_dist, ref_ind, strict=True):
        if sorted_results:
            assert np.all(np.diff(d) >= 0)
        order, ref_order = np.argsort(i), np.argsort(ri)
        np.testing.assert_array_equal(i[order], ri[ref_order])
        np.testing.assert_allclose(d[order], rd[ref_order], rtol=tol, atol=tol)


@pytest.mark.parametrize("backend, metric, p", KERNEL_CASES, indirect=["backend"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kneighbors_matches_sklearn(backend, metric, p, dtype):
    tol = TOL[dtype]
    for n in SIZES[backend]:
        X, Q = _data(n, 5, dtype, seed=n), _data(13, 5, dtype, seed=n + 1)
        ours, ref = _pair(metric, p, n_neighbors=min(5, n))
        ours.fit(X)
        ref.fit(X.astype(np.float64))

        dist, ind = ours.kneighbors(Q)
        ref_dist, ref_ind = ref.kneighbors(Q.astype(np.float64))
        assert dist.dtype == dtype and ind.dtype == np.int64
        np.testing.assert_array_equal(ind, ref_ind)
        np.testing.assert_allclose(dist, ref_dist, rtol=tol, atol=tol)
        np.testing.assert_array_equal(ours.kneighbors(Q, return_distance=False), ref_ind)

        if n > 1:  # X=None: each training point, less itself
            k = min(5, n - 1)
            dist, ind = ours.kneighbors(n_neighbors=k)
            ref_dist, ref_ind = ref.kneighbors(n_neighbors=k)
            np.testing.assert_array_equal(ind, ref_ind)
            np.testing.assert_allclose(dist, ref_dist, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend, metric, p", KERNEL_CASES, indirect=["backend"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_radius_neighbors_matches_sklearn(backend, metric, p, dtype):
    tol = TOL[dtype]
    for n in SIZES[backend]:
        X, Q = _data(n, 4, dtype, seed=n), _data(11, 4, dtype, seed=n + 1)
        X64 = X.astype(np.float64)
        ours, ref = _pair(metric, p)
        ours.fit(X)
        ref.fit(X64)
        for query, ref_query in [(Q, Q.astype(np.float64)), (None, None)]:
            radius = _gap_radius(ref, X64, X64 if query is None else ref_query)
            ref_result = ref.radius_neighbors(ref_query, radius)

            result = ours.radius_neighbors(query, radius, sort_results=True)
            _assert_same_neighbours(result, ref_result, tol, sorted_results=True)
            assert all(d.dtype == dtype for d in result[0])

            result = ours.radius_neighbors(query, radius)
            _assert_same_neighbours(result, ref_result, tol)
            _assert_rows_equal(
                ours.radius_neighbors(query, radius, return_distance=False), result[1]
            )


@pytest.mark.parametrize("metric, p", [("minkowski", 2), ("cosine", 2), ("manhattan", 2)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["connectivity", "distance"])
def test_graphs_match_sklearn(backend, metric, p, dtype, mode):
    X, Q = _data(60, 3, dtype), _data(9, 3, dtype, seed=1)
    X64 = X.astype(np.float64)
    ours, ref = _pair(metric, p, n_neighbors=4)
    ours.fit(X)
    ref.fit(X64)
    for query, ref_query in [(Q, Q.astype(np.float64)), (None, None)]:
        radius = _gap_radius(ref, X64, X64 if query is None else ref_query)
        pairs = [
            (ours.kneighbors_graph(query, mode=mode), ref.kneighbors_graph(ref_query, mode=mode)),
            (
                ours.radius_neighbors_graph(query, radius, mode=mode, sort_results=True),
                ref.radius_neighbors_graph(ref_query, radius, mode=mode, sort_results=True),
            ),
        ]
        for G, G_ref in pairs:
            assert sp.issparse(G) and G.format == "csr" and G.shape == G_ref.shape
            assert G.dtype == (dtype if mode == "distance" else np.float64)
            np.testing.assert_array_equal(G.indptr, G_ref.indptr)
            tol = TOL[dtype]
            np.testing.assert_allclose(G.toarray(), G_ref.toarray(), rtol=tol, atol=tol)


def test_graph_bad_mode():
    nn = NearestNeighbors().fit(_data(10, 2))
    for graph in (nn.kneighbors_graph, nn.radius_neighbors_graph):
        with pytest.raises(ValueError, match='Unsupported mode.*but got "foo"'):
            graph(mode="foo")


def test_graph_follows_sparse_interface():
    if "sparse_interface" not in sklearn.get_config():
        pytest.skip("scikit-learn < 1.8 has no sparse_interface setting")
    nn = NearestNeighbors(n_neighbors=2).fit(_data(10, 2))
    assert isinstance(nn.kneighbors_graph(), sp.spmatrix)
    with sklearn.config_context(sparse_interface="sparray"):
        assert isinstance(nn.kneighbors_graph(), sp.sparray)
        assert isinstance(nn.radius_neighbors_graph(), sp.sparray)


@pytest.mark.parametrize("algorithm", ["auto", "brute", "ball_tree", "kd_tree"])
@pytest.mark.parametrize("metric, p", [("minkowski", 2), ("minkowski", 1), ("l1", 2), ("l2", 2)])
def test_every_algorithm_matches_sklearn(algorithm, metric, p):
    X, Q = _data(200, 3), _data(20, 3, seed=1)
    ours, ref = _pair(metric, p, algorithm=algorithm, n_neighbors=6)
    ours.fit(X)
    ref.fit(X)
    assert ours._fit_method == "brute"
    dist, ind = ours.kneighbors(Q)
    ref_dist, ref_ind = ref.kneighbors(Q)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    dist, ind = ours.radius_neighbors(Q, 0.8, sort_results=True)
    ref_dist, ref_ind = ref.radius_neighbors(Q, 0.8, sort_results=True)
    _assert_rows_equal(ind, ref_ind)
    _assert_rows_equal(dist, ref_dist, 1e-12)


@pytest.mark.parametrize("algorithm", ["ball_tree", "kd_tree"])
@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_tree_algorithm_refuses_metric_as_sklearn(algorithm, metric):
    for cls in (NearestNeighbors, sklearn.neighbors.NearestNeighbors):
        with pytest.raises(ValueError, match=f"Metric '{metric}' not valid"):
            cls(algorithm=algorithm, metric=metric).fit(_data(5, 2))


@pytest.mark.parametrize("metric, p", METRICS)
def test_effective_metric_as_sklearn(metric, p):
    X = _data(5, 2)
    ours, ref = _pair(metric, p)
    ours.fit(X)
    ref.fit(X)
    assert ours.effective_metric_ == ref.effective_metric_
    assert ours.effective_metric_params_ == ref.effective_metric_params_


def test_metric_params_p_overrides_p():
    X, Q = _data(30, 3), _data(4, 3, seed=1)
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        nn = NearestNeighbors(metric_params={"p": 1, "w": None}).fit(X)
    assert nn.effective_metric_ == "manhattan"
    np.testing.assert_array_equal(
        nn.kneighbors(Q)[1],
        sklearn.neighbors.NearestNeighbors(metric="manhattan").fit(X).kneighbors(Q)[1],
    )


def test_duplicates():
    # Rows 0-3 are one point, 4-6 another: exact zero distances and ties.
    group = np.repeat([0, 1], [4, 3])
    X = _data(2, 3)[group]
    nn = NearestNeighbors(n_neighbors=1).fit(X)
    # Ties go to the lower index, so rows 2 and 3 find 0 and 1 before themselves:
    # then the first neighbour is dropped instead (scikit-learn's corner case).
    np.testing.assert_array_equal(
        nn.kneighbors(return_distance=False).ravel(), [1, 0, 1, 1, 5, 4, 5]
    )
    ref = sklearn.neighbors.NearestNeighbors().fit(X)
    for k in (1, 2, 3, 5):
        dist, ind = nn.kneighbors(n_neighbors=k)
        ref_dist, ref_ind = ref.kneighbors(n_neighbors=k)
        np.testing.assert_allclose(dist, ref_dist, atol=1e-12)
        # Which of equal duplicates are chosen differs; they are never the point itself.
        assert not np.any(ind == np.arange(len(X))[:, None])
        np.testing.assert_array_equal(np.sort(group[ind], axis=1), np.sort(group[ref_ind], axis=1))
    _assert_same_neighbours(nn.radius_neighbors(radius=0), ref.radius_neighbors(radius=0), 1e-12)


def test_n_neighbors_equal_n_samples():
    X, Q = _data(9, 3), _data(4, 3, seed=1)
    nn = NearestNeighbors(n_neighbors=9).fit(X)
    ref = sklearn.neighbors.NearestNeighbors(n_neighbors=9).fit(X)
    np.testing.assert_array_equal(nn.kneighbors(Q)[1], ref.kneighbors(Q)[1])
    np.testing.assert_array_equal(nn.kneighbors(n_neighbors=8)[1], ref.kneighbors(n_neighbors=8)[1])
    with pytest.raises(
        ValueError, match=r"Expected n_neighbors < n_samples_fit, but n_neighbors = 9"
    ):
        nn.kneighbors()


def test_one_row():
    X = np.array([[1.0, 2.0]])
    nn = NearestNeighbors(n_neighbors=1, radius=5).fit(X)
    dist, ind = nn.kneighbors([[4.0, 6.0]])
    np.testing.assert_allclose(dist, [[5.0]])
    np.testing.assert_array_equal(ind, [[0]])
    ind = nn.radius_neighbors([[4.0, 6.0], [10.0, 10.0]], return_distance=False)
    assert [list(i) for i in ind] == [[0], []]
    assert len(nn.radius_neighbors()[1][0]) == 0  # its only neighbour is itself
    with pytest.raises(ValueError, match="n_neighbors = 1, n_samples_fit = 1, n_samples = 1"):
        nn.kneighbors()


@pytest.mark.parametrize("dtype", DTYPES)
def test_radius_neighbors_chunks(monkeypatch, dtype):
    X, Q = _data(100, 3, dtype), _data(50, 3, dtype, seed=1)
    nn = NearestNeighbors(radius=0.9).fit(X)
    queries = {"new points": Q, "training set": None}
    expected = {name: nn.radius_neighbors(q, sort_results=True) for name, q in queries.items()}
    expected_graph = nn.radius_neighbors_graph(mode="distance").toarray()
    # Chunks of 7 query rows: sizes and offsets no multiple of anything.
    monkeypatch.setattr(_base, "_CHUNK_BYTES", 7 * 100 * np.dtype(dtype).itemsize)
    for name, q in queries.items():
        dist, ind = nn.radius_neighbors(q, sort_results=True)
        _assert_rows_equal(ind, expected[name][1])
        _assert_rows_equal(dist, expected[name][0], TOL[dtype])
    graph = nn.radius_neighbors_graph(mode="distance").toarray()
    np.testing.assert_allclose(graph, expected_graph, rtol=TOL[dtype], atol=TOL[dtype])


def test_radius_neighbors_sort_results_needs_distance():
    nn = NearestNeighbors().fit(_data(10, 2))
    with pytest.raises(ValueError, match="return_distance must be True if sort_results is True."):
        nn.radius_neighbors(return_distance=False, sort_results=True)


def test_query_takes_fitted_dtype():
    X = _data(20, 3, np.float32)
    nn = NearestNeighbors(n_neighbors=2).fit(X)
    assert nn._fit_X.dtype == np.float32
    dist, _ = nn.kneighbors(_data(3, 3, np.float64))
    assert dist.dtype == np.float32
    assert NearestNeighbors().fit(X.astype(np.int64))._fit_X.dtype == np.float64


def test_non_contiguous_and_int_input():
    X = _data(80, 8)
    Xi = np.round(X * 3).astype(np.int32)
    for fit_X, query in [
        (X[::2, ::2], X[1::2, ::2]),
        (np.asfortranarray(X), np.asfortranarray(X[:7])),
        (Xi, Xi[:5]),
    ]:
        ref = sklearn.neighbors.NearestNeighbors(n_neighbors=3).fit(fit_X)
        nn = NearestNeighbors(n_neighbors=3).fit(fit_X)
        np.testing.assert_allclose(nn.kneighbors(query)[0], ref.kneighbors(query)[0], rtol=1e-12)
        # Integer data has ties; the distances above are what must agree.
        if fit_X is not Xi:
            np.testing.assert_array_equal(nn.kneighbors(query)[1], ref.kneighbors(query)[1])


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_same_result(n_jobs):
    X = _data(500, 6)
    expected = NearestNeighbors().fit(X).kneighbors()
    result = NearestNeighbors(n_jobs=n_jobs).fit(X).kneighbors()
    np.testing.assert_array_equal(result[1], expected[1])
    np.testing.assert_array_equal(result[0], expected[0])


@pytest.mark.parametrize("n_jobs, n_threads", [(None, None), (3, 3), (-1, joblib.cpu_count())])
def test_n_jobs_sets_kernel_threads(monkeypatch, n_jobs, n_threads):
    calls = []
    for name in ("argkmin", "pairwise_distances"):

        def record(*args, _op=getattr(_ops, name), **kwargs):
            calls.append(kwargs["n_threads"])
            return _op(*args, **kwargs)

        monkeypatch.setattr(_ops, name, record)
    nn = NearestNeighbors(n_neighbors=2, n_jobs=n_jobs).fit(_data(10, 2))
    nn.kneighbors()
    nn.radius_neighbors()
    # None leaves the choice to turbolearn.set_num_threads.
    assert calls == [n_threads, n_threads]


def test_feature_names():
    pd = pytest.importorskip("pandas")
    X = _data(20, 3)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    nn = NearestNeighbors(n_neighbors=2).fit(df)
    np.testing.assert_array_equal(nn.feature_names_in_, ["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ind = nn.kneighbors(df[:3], return_distance=False)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(nn.kneighbors(X[:3], return_distance=False), ind)
    with pytest.raises(ValueError, match="feature names should match"):
        nn.kneighbors(df[["b", "a", "c"]])
    assert not hasattr(NearestNeighbors().fit(X), "feature_names_in_")


def test_pickle_joblib_clone(tmp_path):
    X, Q = _data(50, 4), _data(5, 4, seed=1)
    nn = NearestNeighbors(n_neighbors=3, metric="cosine").fit(X)
    expected = nn.kneighbors(Q)
    joblib.dump(nn, tmp_path / "nn.joblib")
    for restored in (pickle.loads(pickle.dumps(nn)), joblib.load(tmp_path / "nn.joblib")):
        for a, b in zip(restored.kneighbors(Q), expected, strict=True):
            np.testing.assert_array_equal(a, b)
    fresh = clone(nn)
    assert fresh.get_params() == nn.get_params() and not hasattr(fresh, "_fit_X")


def test_pipeline():
    X, Q = _data(60, 4) * [1, 10, 100, 1000], _data(5, 4, seed=1)
    pipe = make_pipeline(StandardScaler(), NearestNeighbors(n_neighbors=3)).fit(X)
    ref = make_pipeline(StandardScaler(), sklearn.neighbors.NearestNeighbors(n_neighbors=3)).fit(X)
    ind = pipe[-1].kneighbors(pipe[:-1].transform(Q), return_distance=False)
    np.testing.assert_array_equal(
        ind, ref[-1].kneighbors(ref[:-1].transform(Q), return_distance=False)
    )


def test_grid_search():
    def score(estimator, X, y=None):
        # Tighter neighbourhoods of held-out points score higher.
        return -estimator.kneighbors(X)[0].mean()

    X = _data(90, 3)
    grid = {"n_neighbors": [1, 4], "metric": ["euclidean", "manhattan", "cosine"]}
    ours = GridSearchCV(NearestNeighbors(), grid, scoring=score, cv=3).fit(X)
    ref = GridSearchCV(sklearn.neighbors.NearestNeighbors(), grid, scoring=score, cv=3).fit(X)
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-12
    )


def test_unfitted():
    nn = NearestNeighbors()
    for method in (
        nn.kneighbors,
        nn.radius_neighbors,
        nn.kneighbors_graph,
        nn.radius_neighbors_graph,
    ):
        with pytest.raises(NotFittedError):
            method(_data(2, 2))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite(bad):
    X = _data(10, 3)
    X[2, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        NearestNeighbors().fit(X)
    nn = NearestNeighbors(n_neighbors=2).fit(_data(10, 3))
    for method in (
        nn.kneighbors,
        nn.radius_neighbors,
        nn.kneighbors_graph,
        nn.radius_neighbors_graph,
    ):
        with pytest.raises(ValueError, match="Input X contains"):
            method(X)


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
        NearestNeighbors().fit(X)
    nn = NearestNeighbors(n_neighbors=1).fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match=match):
        nn.kneighbors(X)
    with pytest.raises(ValueError, match=match):
        nn.radius_neighbors(X)


def test_mismatched_features():
    nn = NearestNeighbors(n_neighbors=1).fit(_data(5, 4))
    for method in (
        nn.kneighbors,
        nn.radius_neighbors,
        nn.kneighbors_graph,
        nn.radius_neighbors_graph,
    ):
        with pytest.raises(
            ValueError, match="X has 3 features, but NearestNeighbors is expecting 4"
        ):
            method(_data(2, 3))


def test_sparse_rejected():
    with pytest.raises(TypeError, match="dense data is required"):
        NearestNeighbors().fit(sp.csr_matrix(np.eye(3)))


def test_n_neighbors_errors_as_sklearn():
    X = _data(6, 2)
    ours = NearestNeighbors().fit(X)
    ref = sklearn.neighbors.NearestNeighbors().fit(X)
    for query, k, error in [
        (X, 7, ValueError),
        (None, 6, ValueError),
        (X, 0, ValueError),
        (X, -1, ValueError),
        (X, 2.5, TypeError),
    ]:
        with pytest.raises(error) as info:
            ours.kneighbors(query, n_neighbors=k)
        with pytest.raises(error) as ref_info:
            ref.kneighbors(query, n_neighbors=k)
        assert str(info.value) == str(ref_info.value)
    with pytest.raises(ValueError, match="'n_neighbors' parameter"):
        NearestNeighbors(n_neighbors=0).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"metric": "chebyshev"}, "'metric' parameter of NearestNeighbors must be a str among"),
        ({"metric": "precomputed"}, "'metric' parameter"),
        ({"p": 3}, r"supported for p=1 \(manhattan\) and p=2 \(euclidean\)"),
        ({"p": np.inf}, "supported for p=1"),
        ({"p": 0}, "'p' parameter"),
        ({"metric_params": {"w": np.ones(2)}}, "without weights"),
        (
            {"metric": "cosine", "metric_params": {"foo": 1}},
            r"metric_params \['foo'\] are not supported",
        ),
        ({"algorithm": "fast"}, "'algorithm' parameter"),
        ({"radius": -1.0}, "'radius' parameter"),
        ({"leaf_size": 0}, "'leaf_size' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        NearestNeighbors(**params).fit(_data(5, 2))
