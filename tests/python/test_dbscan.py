"""turbolearn.cluster.DBSCAN against scikit-learn's DBSCAN: exact labels (scikit-learn's own
numbering), core points and components, on the CPU and on the CUDA kernels under emulation."""
import pickle

import numpy as np
import pytest
from sklearn.cluster import DBSCAN as SklearnDBSCAN
from sklearn.datasets import make_blobs, make_moons
from sklearn.utils.estimator_checks import parametrize_with_checks

from turbolearn.cluster import DBSCAN


@parametrize_with_checks([DBSCAN(), DBSCAN(eps=1.0, min_samples=3, metric="manhattan")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def assert_matches_sklearn(X, sample_weight=None, **params):
    ours = DBSCAN(**params).fit(X, sample_weight=sample_weight)
    ref = SklearnDBSCAN(**params).fit(X, sample_weight=sample_weight)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
    np.testing.assert_array_equal(ours.components_, ref.components_.astype(X.dtype))
    assert ours.components_.dtype == X.dtype
    return ours


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_moons(backend, dtype, eps):
    X = make_moons(300, noise=0.05, random_state=0)[0].astype(dtype)
    assert_matches_sklearn(X, eps=eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blobs_with_sample_weight(backend, dtype, rng):
    X = make_blobs(300, centers=5, cluster_std=0.6, random_state=2)[0].astype(dtype)
    weight = rng.integers(0, 4, len(X)).astype(float)
    assert_matches_sklearn(X, weight, eps=0.3, min_samples=6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_larger(dtype):
    X = make_blobs(20000, centers=20, cluster_std=0.6, random_state=0)[0].astype(dtype)
    assert_matches_sklearn(X, eps=0.1, min_samples=10)
    X = make_moons(20000, noise=0.05, random_state=1)[0].astype(dtype)
    assert_matches_sklearn(X, eps=0.05, min_samples=5, n_jobs=-1)


def test_sample_weight_alone_makes_a_core_point():
    X = np.array([[0.0], [10.0], [20.0]])
    ours = assert_matches_sklearn(X, np.array([1.0, 5.0, 1.0]), eps=1.0, min_samples=5)
    assert ours.labels_.tolist() == [-1, 0, -1]


@pytest.mark.parametrize("metric,params", [("l1", {}), ("cityblock", {}), ("minkowski", {"p": 1}),
                                           ("minkowski", {"p": 2}), ("l2", {})])
def test_metric_names(metric, params):
    X = make_moons(300, noise=0.05, random_state=0)[0]
    assert_matches_sklearn(X, eps=0.1, metric=metric, **params)


@pytest.mark.parametrize("params", [{"metric": "cosine"}, {"metric": "precomputed"},
                                    {"metric": "minkowski", "p": 3},
                                    {"metric": "minkowski", "metric_params": {"p": 1.5}}])
def test_unsupported_metrics_raise(params):
    with pytest.raises(ValueError, match="turbolearn's DBSCAN"):
        DBSCAN(**params).fit(np.ones((4, 2)))


def sklearn_error(params, X, sample_weight=None):
    with pytest.raises(Exception) as info:
        SklearnDBSCAN(**params).fit(X, sample_weight=sample_weight)
    return info.type, str(info.value)


@pytest.mark.parametrize(
    "params,X,sample_weight",
    [({}, [[0.0, np.nan]], None), ({}, [[0.0, np.inf]], None), ({}, np.empty((0, 2)), None),
     ({}, [1.0, 2.0], None), ({"eps": 0.0}, [[0.0]], None), ({"eps": -1.0}, [[0.0]], None),
     ({"min_samples": 0}, [[0.0]], None), ({}, [[0.0], [1.0]], [1.0]),
     ({}, [[0.0], [1.0]], [1.0, np.nan])],
)
def test_bad_input_raises_like_sklearn(params, X, sample_weight):
    kind, message = sklearn_error(params, np.asarray(X), sample_weight)
    with pytest.raises(kind) as info:
        DBSCAN(**params).fit(np.asarray(X), sample_weight=sample_weight)
    assert str(info.value) == message


def test_fit_predict_pickle_and_feature_names():
    pd = pytest.importorskip("pandas", reason="feature names need pandas")
    X = pd.DataFrame(make_moons(200, noise=0.05, random_state=0)[0], columns=["a", "b"])
    est = DBSCAN(eps=0.2)
    labels = est.fit_predict(X)
    np.testing.assert_array_equal(labels, SklearnDBSCAN(eps=0.2).fit_predict(X))
    assert est.feature_names_in_.tolist() == ["a", "b"] and est.n_features_in_ == 2
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).labels_, labels)


def test_ints_become_float64():
    X = np.array([[0, 0], [0, 1], [1, 0], [5, 5]])
    est = assert_matches_sklearn(X.astype(np.float64), eps=1.0, min_samples=3)
    assert DBSCAN(eps=1.0, min_samples=3).fit(X).components_.dtype == np.float64
    assert est.labels_.tolist() == [0, 0, 0, -1]
