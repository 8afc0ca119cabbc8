"""DBSCAN with scikit-learn's interface and labels, on the dbscan kernels (O(n) memory)."""
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import DBSCAN as _SklearnDBSCAN
from sklearn.utils.validation import _check_sample_weight, validate_data

from turbolearn import _ops
from turbolearn.metrics.pairwise import _FLOAT_DTYPES, _check_array, _is_device_array, _n_threads

# scikit-learn metric names the kernels compute, by kernel metric.
_METRIC_NAMES = {"euclidean": ("euclidean", "l2"), "manhattan": ("manhattan", "cityblock", "l1")}
_MINKOWSKI_P = {2: "euclidean", 1: "manhattan"}


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering (scikit-learn's ``DBSCAN``, same parameters and results).

    NumPy input runs on the CPU (a grid of cells of edge ``eps`` over at most three
    features, so only nearby points are compared), CuPy input on its GPU (all pairs);
    memory stays O(n_samples) either way, never the neighbourhood lists.

    Parameters
    ----------
    eps : float, default=0.5
        The radius of a neighbourhood (distance <= eps).
    min_samples : int, default=5
        The weight (count, or sum of ``sample_weight``) of a neighbourhood, the point
        itself included, that makes a point a core point.
    metric : {'euclidean', 'l2', 'manhattan', 'cityblock', 'l1', 'minkowski'}, default='euclidean'
        'minkowski' needs ``p`` of 1 or 2 (None means 2).
    metric_params : dict, default=None
        Only ``{'p': 1 or 2}`` for 'minkowski'.
    algorithm, leaf_size : accepted for compatibility; the kernels choose their own search.
    p : float, default=None
        The Minkowski power (1 or 2).
    n_jobs : int, default=None
        CPU threads; None uses ``turbolearn.get_num_threads()``.

    Attributes
    ----------
    core_sample_indices_ : ndarray of shape (n_core_samples,)
    components_ : ndarray of shape (n_core_samples, n_features)
    labels_ : ndarray of shape (n_samples,)
        Cluster labels numbered as scikit-learn numbers them; noise is -1.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    _parameter_constraints: dict = dict(_SklearnDBSCAN._parameter_constraints)

    def __init__(self, eps=0.5, *, min_samples=5, metric="euclidean", metric_params=None,
                 algorithm="auto", leaf_size=30, p=None, n_jobs=None):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.metric_params = metric_params
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.n_jobs = n_jobs

    def _kernel_metric(self):
        """The kernel metric of (metric, p, metric_params), or a ValueError naming the choices."""
        if self.metric == "minkowski":
            p = (self.metric_params or {}).get("p", self.p)
            p = 2 if p is None else p
            if p in _MINKOWSKI_P:
                return _MINKOWSKI_P[p]
            raise ValueError(f"turbolearn's DBSCAN supports metric='minkowski' with p=1 or p=2, got p={p}.")
        for kernel, names in _METRIC_NAMES.items():
            if self.metric in names:
                return kernel
        names = sorted(name for group in _METRIC_NAMES.values() for name in group)
        raise ValueError(f"turbolearn's DBSCAN does not support metric={self.metric!r}; "
                         f"supported metrics are {names + ['minkowski']}.")

    def _validate(self, X, sample_weight):
        if _is_device_array(X):
            X = _check_array(X)
            self.n_features_in_ = X.shape[1]
            if hasattr(self, "feature_names_in_"):  # device arrays carry no column names
                del self.feature_names_in_
            if sample_weight is not None:
                sample_weight = _ops.array_namespace(X).asarray(sample_weight, dtype=np.float64)
                if sample_weight.shape != (X.shape[0],):
                    raise ValueError(f"sample_weight.shape == {sample_weight.shape}, "
                                     f"expected {(X.shape[0],)}!")
                if not bool(_ops.array_namespace(X).isfinite(sample_weight).all()):
                    raise ValueError("Input sample_weight contains NaN or infinity.")
            return X, sample_weight
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, order="C")
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(_check_sample_weight(sample_weight, X, dtype=np.float64))
        return X, sample_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Cluster X (n_samples, n_features); float32 stays float32, other data becomes float64.

        sample_weight : array-like of shape (n_samples,), default=None
            Each sample's weight in its neighbours' counts (weights may be negative).
        """
        metric = self._kernel_metric()
        X, sample_weight = self._validate(X, sample_weight)
        labels, core = _ops.dbscan(X, self.eps, self.min_samples, sample_weight, metric,
                                   n_threads=_n_threads(self.n_jobs))
        xp = _ops.array_namespace(X)
        self.labels_ = labels
        self.core_sample_indices_ = xp.flatnonzero(core)
        self.components_ = X[self.core_sample_indices_]  # fancy indexing copies
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Cluster X and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_
