"""KNeighborsClassifier and KNeighborsRegressor against scikit-learn's.

The data are Gaussian, so no two distances tie and the neighbours are the same as
scikit-learn's; predictions and probabilities are then equal up to the rounding of
the distances (which enter only the 'distance' weights).
"""

import pickle

import numpy as np
import pytest
import sklearn.neighbors
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.model_selection import GridSearchCV

from turbolearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

DTYPES = [np.float32, np.float64]
# Relative tolerance of weighted results against scikit-learn (which computes the
# distances in float64): float32 distances carry about 1e-7 relative error.
TOL = {np.float32: 1e-5, np.float64: 1e-12}
# (metric, p): the four kernels; the emulated CUDA kernels are slow, so small sizes.
METRICS = [("minkowski", 2), ("minkowski", 1), ("cosine", 2), ("sqeuclidean", 2)]
SIZES = {"cpu": (300, 40), "cuda_emu": (130, 17)}
PAIRS = {
    "classifier": (KNeighborsClassifier, sklearn.neighbors.KNeighborsClassifier),
    "regressor": (KNeighborsRegressor, sklearn.neighbors.KNeighborsRegressor),
}


def _data(n, d=5, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


def _targets(kind, n, n_outputs=None, seed=0):
    """Classes 0-3 (shape (n,) or (n, n_outputs)) or continuous targets."""
    rng = np.random.default_rng(seed)
    shape = (n,) if n_outputs is None else (n, n_outputs)
    return rng.integers(0, 4, shape) if kind == "classifier" else rng.standard_normal(shape)


def _fit_pair(kind, X, y, **params):
    ours_cls, ref_cls = PAIRS[kind]
    return ours_cls(**params).fit(X, y), ref_cls(**params).fit(X.astype(np.float64), y)


def _assert_predictions_match(ours, ref, Q, dtype):
    tol = TOL[dtype]
    Q64 = None if Q is None else Q.astype(np.float64)
    if isinstance(ours, KNeighborsClassifier):
        np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q64))
        proba, ref_proba = ours.predict_proba(Q), ref.predict_proba(Q64)
        if not ours.outputs_2d_:
            proba, ref_proba = [proba], [ref_proba]
        assert len(proba) == len(ref_proba)
        for p, ref_p in zip(proba, ref_proba, strict=True):
            assert p.dtype == np.float64
            np.testing.assert_allclose(p, ref_p, rtol=tol, atol=tol)
    else:
        pred, ref_pred = ours.predict(Q), ref.predict(Q64)
        assert pred.shape == ref_pred.shape
        np.testing.assert_allclose(pred, ref_pred, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric, p", METRICS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_sklearn(backend, kind, weights, metric, p, dtype):
    n, m = SIZES[backend]
    X, Q = _data(n, dtype=dtype), _data(m, dtype=dtype, seed=1)
    y = _targets(kind, n)
    ours, ref = _fit_pair(kind, X, y, weights=weights, metric=metric, p=p, n_neighbors=7)
    assert ours._fit_X.dtype == dtype
    _assert_predictions_match(ours, ref, Q, dtype)
    # X=None: each training point predicted from its neighbours, less itself.
    _assert_predictions_match(ours, ref, None, dtype)
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], ref.kneighbors(Q.astype(np.float64))[1])
    assert ours.score(Q, _targets(kind, m, seed=1)) == pytest.approx(
        ref.score(Q.astype(np.float64), _targets(kind, m, seed=1)), rel=TOL[dtype]
    )


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_multi_output_matches_sklearn(backend, kind, weights):
    n, m = SIZES[backend]
    X, Q = _data(n), _data(m, seed=1)
    y = _targets(kind, n, n_outputs=3)
    ours, ref = _fit_pair(kind, X, y, weights=weights)
    if kind == "classifier":
        assert ours.outputs_2d_ and ref.outputs_2d_
        for classes, ref_classes in zip(ours.classes_, ref.classes_, strict=True):
            np.testing.assert_array_equal(classes, ref_classes)
    _assert_predictions_match(ours, ref, Q, np.float64)
    _assert_predictions_match(ours, ref, None, np.float64)


def test_string_labels_and_classes():
    X, Q = _data(120), _data(30, seed=1)
    y = np.array(["setosa", "versicolor", "virginica"])[_targets("classifier", 120) % 3]
    ours, ref = _fit_pair("classifier", X, y, n_neighbors=4)
    np.testing.assert_array_equal(ours.classes_, ["setosa", "versicolor", "virginica"])
    assert ours.predict(Q).dtype == ref.predict(Q).dtype
    _assert_predictions_match(ours, ref, Q, np.float64)
    # Classes missing from a query's neighbours get probability 0, in classes_ order.
    assert ours.predict_proba(Q).shape == (30, 3)


def test_class_vote_ties_go_to_first_class():
    # Two neighbours, one of each class, at distances 1 and 1.5: a 1-1 vote.
    X = np.array([[0.0], [1.0], [-1.5]])
    y = np.array([2, 1, 0])
    ours, ref = _fit_pair("classifier", X[1:], y[1:], n_neighbors=2)
    assert ours.predict(X[:1])[0] == ref.predict(X[:1])[0] == 0
    np.testing.assert_array_equal(ours.predict_proba(X[:1]), [[0.5, 0.5]])


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_distance_with_distance_weights(kind, dtype):
    # Queries that coincide with training points: those points alone decide, as in
    # scikit-learn; rows 0 and 1 are duplicates with different targets.
    X = _data(40, dtype=dtype)
    X[1] = X[0]
    y = _targets(kind, 40)
    y[:2] = [0, 3] if kind == "classifier" else [-1.0, 2.0]
    ours, ref = _fit_pair(kind, X, y, weights="distance", n_neighbors=5)
    Q = X[[0, 1, 5, 17]]
    _assert_predictions_match(ours, ref, Q, dtype)
    if kind == "regressor":
        np.testing.assert_allclose(ours.predict(Q[:1]), [0.5])
    else:
        np.testing.assert_allclose(ours.predict_proba(Q[:1])[0, [0, 3]], [0.5, 0.5])
        np.testing.assert_array_equal(ours.predict_proba(Q[2:3])[0], np.eye(4)[y[5]])


@pytest.mark.parametrize("kind", list(PAIRS))
def test_callable_weights(kind):
    X, Q = _data(100), _data(20, seed=1)
    y = _targets(kind, 100)

    def gaussian(dist):
        return np.exp(-(dist**2))

    ours, ref = _fit_pair(kind, X, y, weights=gaussian)
    _assert_predictions_match(ours, ref, Q, np.float64)

    ours = PAIRS[kind][0](weights=np.zeros_like).fit(X, y)
    with pytest.raises(ValueError, match="All neighbors of some sample is getting zero weights"):
        ours.predict(Q)


def test_regressor_integer_and_float32_targets():
    X, Q = _data(80), _data(10, seed=1)
    for y in (_targets("classifier", 80), _targets("regressor", 80).astype(np.float32)):
        for weights in ("uniform", "distance"):
            ours, ref = _fit_pair("regressor", X, y, weights=weights)
            pred, ref_pred = ours.predict(Q), ref.predict(Q)
            assert pred.dtype == ref_pred.dtype
            np.testing.assert_allclose(pred, ref_pred, rtol=1e-6)


def test_column_vector_y_warns_as_sklearn():
    X, y = _data(30), _targets("classifier", 30)[:, None]
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        clf = KNeighborsClassifier().fit(X, y)
    assert not clf.outputs_2d_ and clf.predict(X[:3]).shape == (3,)
    # The regressor keeps y's shape, as scikit-learn's does.
    assert KNeighborsRegressor().fit(X, y.astype(float)).predict(X[:3]).shape == (3, 1)


def test_continuous_targets_refused_by_classifier():
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        KNeighborsClassifier().fit(_data(20), _targets("regressor", 20))


@pytest.mark.parametrize("kind", list(PAIRS))
def test_bad_input(kind):
    cls = PAIRS[kind][0]
    X, y = _data(20), _targets(kind, 20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cls().fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        cls().fit(X, None)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        cls().fit(bad, y)
    with pytest.raises(NotFittedError):
        cls().predict(X)
    est = cls(n_neighbors=3).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(bad)
    with pytest.raises(ValueError, match=f"X has 4 features, but {cls.__name__} is expecting 5"):
        est.predict(X[:, :4])
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        cls(n_neighbors=21).fit(X, y).predict(X)
    with pytest.raises(ValueError, match="'weights' parameter"):
        cls(weights="gaussian").fit(X, y)
    with pytest.raises(ValueError, match="'n_neighbors' parameter"):
        cls(n_neighbors=0).fit(X, y)


@pytest.mark.parametrize("kind", list(PAIRS))
def test_pickle_clone_grid_search(kind):
    ours_cls, ref_cls = PAIRS[kind]
    X, Q = _data(150), _data(10, seed=1)
    y = _targets(kind, 150)
    est = ours_cls(n_neighbors=3, weights="distance").fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(Q), est.predict(Q))
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "_fit_X")

    grid = {"n_neighbors": [1, 5, 15], "weights": ["uniform", "distance"]}
    ours = GridSearchCV(ours_cls(), grid, cv=3).fit(X, y)
    ref = GridSearchCV(ref_cls(), grid, cv=3).fit(X, y)
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-12
    )
