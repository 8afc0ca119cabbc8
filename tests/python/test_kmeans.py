"""turbolearn.cluster.KMeans and MiniBatchKMeans against scikit-learn's.

Tolerances: with the same initial centres (an array, or the same random_state), labels are
equal and inertia / centres agree within rtol 1e-6 in float64 (round-off only: sums are
reduced in another order); float32 within 1e-4.
"""
import pickle
import warnings

import numpy as np
import pytest
import sklearn.cluster as skc
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from turbolearn.cluster import KMeans, MiniBatchKMeans

WEIGHT_XFAIL = {
    # As scikit-learn's own KMeans and MiniBatchKMeans (its PER_ESTIMATOR_XFAIL_CHECKS): the
    # random initialisation draws differently for a weight of 2 than for a repeated row.
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


@parametrize_with_checks([KMeans(), MiniBatchKMeans(), KMeans(init="random", algorithm="elkan")],
                         expected_failed_checks=lambda est: WEIGHT_XFAIL)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=3000, n_features=6, centers=9, cluster_std=2.0, random_state=1)
    return X


def assert_same_fit(ours, theirs, rtol):
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.labels_.dtype == theirs.labels_.dtype == np.int32
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=rtol)
    scale = np.abs(theirs.cluster_centers_).max()
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol,
                               atol=rtol * scale)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-6), (np.float32, 1e-4)])
@pytest.mark.parametrize("params", [{}, {"tol": 0, "max_iter": 7}, {"tol": 1e-2},
                                    {"max_iter": 1}])
@pytest.mark.parametrize("weighted", [False, True])
def test_array_init_matches_sklearn(blobs, dtype, rtol, params, weighted):
    X = blobs.astype(dtype)
    init = X[::300][:9] + 0.5
    sw = np.random.default_rng(0).random(len(X)) + 0.5 if weighted else None
    ours = KMeans(9, init=init, **params).fit(X, sample_weight=sw)
    theirs = skc.KMeans(9, init=init, **params).fit(X, sample_weight=sw)
    assert_same_fit(ours, theirs, rtol)
    assert ours.cluster_centers_.dtype == dtype


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-6), (np.float32, 1e-4)])
@pytest.mark.parametrize("init,n_init", [("k-means++", "auto"), ("k-means++", 3),
                                         ("random", "auto"), ("random", 2)])
def test_seeded_init_matches_sklearn(blobs, dtype, rtol, init, n_init):
    X = blobs.astype(dtype)
    ours = KMeans(9, init=init, n_init=n_init, random_state=42).fit(X)
    theirs = skc.KMeans(9, init=init, n_init=n_init, random_state=42).fit(X)
    assert_same_fit(ours, theirs, rtol)


def test_kmeans_plusplus_centres_are_sklearns(blobs):
    # One iteration from k-means++ shows the seeds themselves went the same way.
    for seed in range(5):
        ours = KMeans(9, max_iter=1, random_state=seed).fit(blobs)
        theirs = skc.KMeans(9, max_iter=1, random_state=seed).fit(blobs)
        np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_plusplus_draws_are_sklearns_at_scale(dtype, weighted):
    # float32 cumulative sums over many samples would drift apart at the slightest difference
    # in the distances: the picks stay identical only if every distance is.
    from sklearn.cluster._kmeans import _kmeans_plusplus as sklearn_plusplus
    from sklearn.utils.extmath import row_norms

    from turbolearn.cluster._kmeans import _kmeans_plusplus

    rng = np.random.default_rng(5)
    X = (rng.standard_normal((60_001, 16)) * 3 + 1).astype(dtype)
    sw = (rng.random(len(X)) + 0.5).astype(dtype) if weighted else np.ones(len(X), dtype)
    for seed in range(2):
        expected, _ = sklearn_plusplus(X, 40, row_norms(X, squared=True), sw,
                                       np.random.RandomState(seed))
        ours = _kmeans_plusplus(X, 40, row_norms(X, squared=True), sw, np.random.RandomState(seed))
        np.testing.assert_array_equal(ours, expected)


def test_callable_init_and_elkan(blobs):
    def init(X, k, random_state):
        return X[random_state.permutation(len(X))[:k]]

    ours = KMeans(9, init=init, random_state=0, algorithm="elkan").fit(blobs)
    theirs = skc.KMeans(9, init=init, random_state=0).fit(blobs)
    assert_same_fit(ours, theirs, 1e-6)


def test_n_init_and_tol_follow_sklearn(blobs):
    for init in ("k-means++", "random", blobs[:9], lambda X, k, random_state: X[:k]):
        for Est, SkEst in ((KMeans, skc.KMeans), (MiniBatchKMeans, skc.MiniBatchKMeans)):
            ours = Est(9, init=init, max_iter=2).fit(blobs)
            theirs = SkEst(9, init=init, max_iter=2).fit(blobs)
            assert ours._n_init == theirs._n_init
            assert ours._tol == pytest.approx(theirs._tol, rel=1e-12)
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        KMeans(9, init=blobs[:9], n_init=3).fit(blobs)


def test_predict_transform_score_match_sklearn(blobs):
    ours = KMeans(9, random_state=0).fit(blobs)
    theirs = skc.KMeans(9, random_state=0).fit(blobs)
    Q = blobs[::7] + 0.3
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    np.testing.assert_allclose(ours.transform(Q), theirs.transform(Q), rtol=1e-9)
    np.testing.assert_allclose(ours.score(Q), theirs.score(Q), rtol=1e-9)
    sw = np.arange(len(Q)) % 3 + 0.5
    np.testing.assert_allclose(ours.score(Q, sample_weight=sw), theirs.score(Q, sample_weight=sw),
                               rtol=1e-9)
    np.testing.assert_array_equal(KMeans(9, random_state=0).fit_predict(blobs), theirs.labels_)
    np.testing.assert_allclose(KMeans(9, random_state=0).fit_transform(blobs),
                               theirs.transform(blobs), rtol=1e-9)
    assert list(ours.get_feature_names_out()) == [f"kmeans{i}" for i in range(9)]


def test_float32_stays_float32(blobs):
    X = blobs.astype(np.float32)
    for est in (KMeans(9, random_state=0), MiniBatchKMeans(9, random_state=0)):
        est.fit(X)
        assert est.cluster_centers_.dtype == np.float32
        assert est.transform(X).dtype == np.float32
        assert est.labels_.dtype == est.predict(X).dtype == np.int32
        # float64 queries take the model's dtype (scikit-learn fails on them).
        np.testing.assert_array_equal(est.predict(blobs), est.predict(X))
    assert KMeans(9, random_state=0).fit(blobs.astype(np.int64)).cluster_centers_.dtype == np.float64


def test_copy_x_false_restores_the_data(blobs):
    X = blobs.copy()
    ours = KMeans(9, random_state=0, copy_x=False).fit(X)
    np.testing.assert_allclose(X, blobs, rtol=1e-12, atol=1e-12)
    assert_same_fit(ours, skc.KMeans(9, random_state=0).fit(blobs), 1e-6)


def test_verbose_prints_like_sklearn(blobs, capsys):
    KMeans(9, random_state=0, verbose=1).fit(blobs)
    out = capsys.readouterr().out
    assert "Initialization complete" in out and "Iteration 0, inertia" in out
    assert "Converged at iteration" in out


def errors_of(fit):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()
    except Exception as e:  # noqa: BLE001 - the point is to compare them
        return type(e), str(e)
    return None


@pytest.mark.parametrize("case", ["nan", "inf", "too_few", "empty", "1d", "sw_length",
                                  "sw_negative", "sw_mixed_sign", "sw_zero", "bad_init_shape",
                                  "bad_n_clusters", "sparse"])
@pytest.mark.parametrize("name", ["KMeans", "MiniBatchKMeans"])
def test_bad_input_gives_sklearns_errors(case, name):
    rng = np.random.default_rng(0)
    X = rng.random((20, 3))
    sw = None
    kw = {"n_clusters": 3, "random_state": 0}
    if case == "nan":
        X[3, 1] = np.nan
    elif case == "inf":
        X[0, 0] = np.inf
    elif case == "too_few":
        kw["n_clusters"] = 21
    elif case == "empty":
        X = X[:0]
    elif case == "1d":
        X = X[:, 0]
    elif case == "sw_length":
        sw = np.ones(19)
    elif case == "sw_negative":
        sw = -np.ones(20)
    elif case == "sw_mixed_sign":
        sw = np.r_[-np.ones(10), np.ones(10)]
    elif case == "sw_zero":
        sw = np.zeros(20)
    elif case == "bad_init_shape":
        kw["init"] = X[:2]
    elif case == "bad_n_clusters":
        kw["n_clusters"] = 0
    elif case == "sparse":
        import scipy.sparse as sp

        X = sp.csr_matrix(X)
    ours = errors_of(lambda: getattr(__import__("turbolearn.cluster").cluster, name)(**kw).fit(X, sample_weight=sw))
    theirs = errors_of(lambda: getattr(skc, name)(**kw).fit(X, sample_weight=sw))
    if case == "sparse":  # we take dense data only, and say so as scikit-learn does
        assert ours[0] is TypeError and "dense data is required" in ours[1]
        return
    if theirs is None:
        assert ours is None
    else:
        assert ours is not None and ours[0] is theirs[0]
        assert ours[1].split("\n")[0] == theirs[1].split("\n")[0]


def test_all_points_equal_matches_sklearn():
    X = np.full((12, 4), 3.25)
    for Est, SkEst in ((KMeans, skc.KMeans), (MiniBatchKMeans, skc.MiniBatchKMeans)):
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            ours = Est(3, random_state=0).fit(X)
        with warnings.catch_warnings(record=True) as theirs_warned:
            warnings.simplefilter("always")
            theirs = SkEst(3, random_state=0).fit(X)
        assert [w.category for w in ours_warned] == [w.category for w in theirs_warned]
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, abs=1e-12)
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(1\)"):
        KMeans(3, random_state=0).fit(X)


def test_duplicates_with_more_clusters_than_points_warn():
    X = np.repeat(np.eye(3), 4, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(3\)"):
        KMeans(5, random_state=0).fit(X)


def test_pickle_and_clone(blobs):
    est = KMeans(9, random_state=0).fit(blobs)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(blobs), est.labels_)
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "labels_")
    mb = pickle.loads(pickle.dumps(MiniBatchKMeans(9, random_state=0).fit(blobs)))
    assert mb.predict(blobs).shape == (len(blobs),)


def test_minibatch_inertia_close_to_kmeans():
    X, _ = make_blobs(n_samples=20000, n_features=8, centers=20, random_state=3)
    full = KMeans(20, random_state=0).fit(X)
    mini = MiniBatchKMeans(20, random_state=0, n_init=3).fit(X)
    assert mini.inertia_ <= 1.02 * full.inertia_


@pytest.mark.parametrize("params", [{}, {"tol": 1e-3}, {"init": "random"},
                                    {"max_no_improvement": None, "max_iter": 2}, {"batch_size": 37},
                                    {"compute_labels": False}, {"reassignment_ratio": 0.3}])
def test_minibatch_matches_sklearn(blobs, params):
    sw = np.random.default_rng(1).random(len(blobs)) + 0.1
    ours = MiniBatchKMeans(9, random_state=7, **params).fit(blobs, sample_weight=sw)
    theirs = skc.MiniBatchKMeans(9, random_state=7, **params).fit(blobs, sample_weight=sw)
    assert ours.n_steps_ == theirs.n_steps_ and ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-6)
    if params.get("compute_labels", True):
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)


def test_minibatch_partial_fit_matches_sklearn(blobs):
    ours = MiniBatchKMeans(9, random_state=0, batch_size=100)
    theirs = skc.MiniBatchKMeans(9, random_state=0, batch_size=100)
    for start in range(0, 3000, 500):
        ours.partial_fit(blobs[start:start + 500])
        theirs.partial_fit(blobs[start:start + 500])
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_steps_ == theirs.n_steps_ == 6


def test_minibatch_reads_a_memmap(tmp_path, blobs):
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=blobs.shape)
    mm[:] = blobs
    mm.flush()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=blobs.shape)
    est = MiniBatchKMeans(9, random_state=0).fit(X)
    ref = MiniBatchKMeans(9, random_state=0).fit(np.asarray(blobs, dtype=np.float32))
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    assert est.cluster_centers_.dtype == np.float32


def test_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(blobs, columns=[f"f{i}" for i in range(6)])
    est = KMeans(3, random_state=0).fit(df)
    assert list(est.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(blobs)


def test_book_pipeline_and_grid_search():
    # Hands-On ML, chapter 9: k-means as a preprocessing step for digit classification (the
    # book's LogisticRegression(max_iter=5000) takes a minute; 300 iterations score alike).
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)

    def pipeline(kmeans):
        return make_pipeline(kmeans, LogisticRegression(max_iter=300))

    # One BLAS thread: LogisticRegression's small lbfgs products on a loaded 2-core machine
    # spent minutes in OpenBLAS's thread hand-offs (0.1 s single-threaded); what is tested
    # here is KMeans inside the sklearn tools, not the BLAS.
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # of the LogisticRegression
        ours = pipeline(KMeans(n_clusters=50, random_state=42)).fit(X_train, y_train)
        theirs = pipeline(skc.KMeans(n_clusters=50, random_state=42)).fit(X_train, y_train)
        # Integer pixels make near-ties; a few of them break the other way in round-off.
        assert (ours[0].labels_ == theirs[0].labels_).mean() > 0.95
        assert ours[0].inertia_ == pytest.approx(theirs[0].inertia_, rel=0.01)
        assert ours.score(X_test, y_test) == pytest.approx(theirs.score(X_test, y_test), abs=0.02)
        assert ours.score(X_test, y_test) > 0.95
        grid = GridSearchCV(ours, {"kmeans__n_clusters": [20, 45]}, cv=3).fit(X_train, y_train)
    assert grid.best_params_["kmeans__n_clusters"] in (20, 45)
    assert grid.score(X_test, y_test) > 0.9
