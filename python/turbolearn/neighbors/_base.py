"""Nearest-neighbour search with scikit-learn's interface, on turbolearn's distance kernels.

The classes mirror scikit-learn's (``NeighborsBase`` with ``KNeighborsMixin`` and
``RadiusNeighborsMixin``) so that supervised neighbour estimators can be built on
them the same way. Every ``algorithm`` runs the exact brute-force kernels, which
return what scikit-learn's trees return.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator, MultiOutputMixin, _fit_context
from sklearn.neighbors import VALID_METRICS as _SKLEARN_VALID_METRICS
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from turbolearn import _ops
from turbolearn.metrics.pairwise import (
    _FLOAT_DTYPES,
    VALID_METRICS,
    _check_array,
    _is_device_array,
    _kernel_metric,
    _n_threads,
)

# radius_neighbors computes full distance rows for this many bytes of queries at a
# time, so its memory stays bounded whatever the number of queries.
_CHUNK_BYTES = 64 * 2**20


def _object_array(arrays):
    """1-D object array holding ``arrays`` as they are.

    Filled one by one: assigning the list at once would let NumPy stack arrays of
    equal length, or try to copy device arrays to the host.
    """
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return out


def _csr(data, indices, indptr, shape):
    """CSR graph on the device of ``indices``, in scikit-learn's configured sparse API."""
    if _is_device_array(indices):
        from cupyx.scipy import sparse as cusparse

        # cuSPARSE takes 32-bit indices only.
        return cusparse.csr_matrix(
            (data, indices.astype("int32"), indptr.astype("int32")), shape=shape
        )
    # scikit-learn >= 1.8 lets users ask for sparse arrays; before, graphs are spmatrix.
    if get_config().get("sparse_interface", "spmatrix") == "sparray":
        return sp.csr_array((data, indices, indptr), shape=shape)
    return sp.csr_matrix((data, indices, indptr), shape=shape)


class NeighborsBase(MultiOutputMixin, BaseEstimator):
    """Parameters, validation and fitting shared by the neighbour estimators."""

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "radius": [Interval(Real, 0, None, closed="both"), None],
        "algorithm": [StrOptions({"auto", "ball_tree", "kd_tree", "brute"})],
        "leaf_size": [Interval(Integral, 1, None, closed="left")],
        "p": [Interval(Real, 0, None, closed="right"), None],
        "metric": [StrOptions({"minkowski", *VALID_METRICS})],
        "metric_params": [dict, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_neighbors=None,
        radius=None,
        algorithm="auto",
        leaf_size=30,
        metric="minkowski",
        p=2,
        metric_params=None,
        n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.metric_params = metric_params
        self.p = p
        self.n_jobs = n_jobs

    def _validate_X(self, X, *, reset):
        # Queries take the training dtype: the kernels compare arrays of one dtype.
        dtype = _FLOAT_DTYPES if reset else self._fit_X.dtype
        if not _is_device_array(X):
            return validate_data(self, X, reset=reset, dtype=dtype, order="C")
        X = _check_array(X, dtype=dtype)
        if reset:
            self.n_features_in_ = X.shape[1]
            # Device arrays carry no column names: drop those of an earlier fit.
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        return X

    def _validate_X_y(self, X, y):
        """fit's checks of the training data X and the targets y (1-D or 2-D).

        y ends on X's device: a host y given with CuPy X is copied there once, here.
        """
        if not _is_device_array(X):
            return validate_data(self, X, y, multi_output=True, dtype=_FLOAT_DTYPES, order="C")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._validate_X(X, reset=True)
        xp = _ops.array_namespace(X)
        y = y if _is_device_array(y) else np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"y must be numeric when X is a CuPy array; got dtype {y.dtype}.")
        y = xp.asarray(y)
        if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, n_outputs) to match "
                f"X; got {y.shape}."
            )
        if y.dtype.kind == "f" and not bool(xp.isfinite(y).all()):
            raise ValueError("Input y contains NaN or infinity.")
        return X, y

    def _set_effective_metric(self):
        """Resolve ``metric``, ``p`` and ``metric_params`` as scikit-learn does."""
        if (
            self.algorithm in ("ball_tree", "kd_tree")
            and self.metric not in _SKLEARN_VALID_METRICS[self.algorithm]
        ):
            # scikit-learn's trees refuse these metrics; so do we, to behave alike.
            raise ValueError(
                f"Metric '{self.metric}' not valid. Use "
                f"sorted(sklearn.neighbors.VALID_METRICS['{self.algorithm}']) "
                "to get valid options. "
                "Metric can also be a callable function."
            )
        params = dict(self.metric_params or {})
        if "p" in params and self.p is not None:
            warnings.warn(
                "Parameter p is found in metric_params. "
                "The corresponding parameter from __init__ is ignored.",
                SyntaxWarning,
                stacklevel=3,
            )
        metric = self.metric
        if metric == "minkowski":
            p = params.pop("p", self.p)
            if params.pop("w", None) is not None or p not in (1, 2):
                raise ValueError(
                    "metric='minkowski' is supported for p=1 (manhattan) and "
                    f"p=2 (euclidean) without weights; got p={p!r}, "
                    f"metric_params={self.metric_params!r}."
                )
            metric = "manhattan" if p == 1 else "euclidean"
        if params:
            raise ValueError(
                f"metric_params {sorted(params)} are not supported with metric={metric!r}."
            )
        self.effective_metric_ = metric
        self.effective_metric_params_ = params

    def _fit(self, X, y=None):
        """Validates and stores the training data; supervised estimators also get
        ``self._y``, the targets as validated (classifiers then encode them)."""
        if self.__sklearn_tags__().target_tags.required:
            X, self._y = self._validate_X_y(X, y)
        else:
            X = self._validate_X(X, reset=True)
        self._set_effective_metric()
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        self._fit_method = "brute"
        return self

    @property
    def _kernel_args(self):
        return {
            "metric": _kernel_metric(self.effective_metric_),
            "n_threads": _n_threads(self.n_jobs),
        }


class KNeighborsMixin:
    """Mixin for k-neighbours searches."""

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the K-neighbors of a point.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the neighbours of each training point,
            not counting the point itself.
        n_neighbors : int, default=None
            Number of neighbours of each query; the constructor's value if None.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        neigh_dist : array of shape (n_queries, n_neighbors)
            Distances, ascending, in the training dtype; only if return_distance.
        neigh_ind : array of shape (n_queries, n_neighbors)
            Indices of the neighbours in the training set; equal distances are
            ordered by index.
        """
        check_is_fitted(self)
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif n_neighbors <= 0:
            raise ValueError(f"Expected n_neighbors > 0. Got {int(n_neighbors)}")
        elif not isinstance(n_neighbors, Integral):
            raise TypeError(
                f"n_neighbors does not take {type(n_neighbors)} value, enter integer value"
            )
        query_is_train = X is None
        if query_is_train:
            X = self._fit_X
            # Each training point finds itself; one more neighbour makes up for it.
            n_neighbors += 1
        else:
            X = self._validate_X(X, reset=False)
        if n_neighbors > self.n_samples_fit_:
            if query_is_train:
                n_neighbors -= 1
                inequality = "n_neighbors < n_samples_fit"
            else:
                inequality = "n_neighbors <= n_samples_fit"
            raise ValueError(
                f"Expected {inequality}, but n_neighbors = {n_neighbors}, "
                f"n_samples_fit = {self.n_samples_fit_}, n_samples = {X.shape[0]}"
            )
        # X against itself (Y=None) gives each point an exact zero distance to itself.
        dist, ind = _ops.argkmin(
            X, None if query_is_train else self._fit_X, int(n_neighbors), **self._kernel_args
        )
        if query_is_train:
            xp = _ops.array_namespace(ind)
            n_queries = ind.shape[0]
            keep = ind != xp.arange(n_queries)[:, None]
            # More exact duplicates than neighbours can push a point out of its own
            # list; then drop the first neighbour instead, as scikit-learn does.
            keep[:, 0] &= ~xp.all(keep, axis=1)
            ind = ind[keep].reshape(n_queries, n_neighbors - 1)
            dist = dist[keep].reshape(n_queries, n_neighbors - 1)
        return (dist, ind) if return_distance else ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Compute the (weighted) graph of k-Neighbors for points in X.

        Parameters are those of :meth:`kneighbors`; ``mode`` is 'connectivity'
        (ones) or 'distance' (the distances).

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit), CSR
            On the device of the training data.
        """
        check_is_fitted(self)
        if mode == "connectivity":
            ind = self.kneighbors(X, n_neighbors, return_distance=False)
            data = _ops.array_namespace(ind).ones(ind.size)
        elif mode == "distance":
            data, ind = self.kneighbors(X, n_neighbors, return_distance=True)
            data = data.ravel()
        else:
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        n_queries, k = ind.shape
        indptr = _ops.array_namespace(ind).arange(0, n_queries * k + 1, k)
        return _csr(data, ind.ravel(), indptr, (n_queries, self.n_samples_fit_))


class RadiusNeighborsMixin:
    """Mixin for radius-based neighbours searches."""

    def _radius_search(self, X, radius, sort_results):
        """Neighbours within ``radius`` of each query, as CSR (data, indices, indptr).

        X=None queries the training set, leaving each point out of its own list.
        """
        query_is_train = X is None
        Q = self._fit_X if query_is_train else X
        xp = _ops.array_namespace(Q)
        step = max(1, _CHUNK_BYTES // (self.n_samples_fit_ * Q.itemsize))
        data, indices, counts = [], [], []
        for start in range(0, Q.shape[0], step):
            D = _ops.pairwise_distances(Q[start : start + step], self._fit_X, **self._kernel_args)
            within = D <= radius
            if query_is_train:
                rows = xp.arange(D.shape[0])
                within[rows, rows + start] = False
            rows, cols = xp.nonzero(within)  # row-major: indices ascend within a row
            dist = D[rows, cols]
            if sort_results:
                # Stable sorts by distance, then by row: rows stay grouped, sorted by
                # distance, with ties in index order.
                order = xp.argsort(dist, kind="stable")
                order = order[xp.argsort(rows[order], kind="stable")]
                dist, cols = dist[order], cols[order]
            data.append(dist)
            indices.append(cols)
            counts.append(within.sum(axis=1))
        indptr = xp.concatenate([xp.zeros(1, dtype=np.int64), xp.cumsum(xp.concatenate(counts))])
        return xp.concatenate(data), xp.concatenate(indices), indptr

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Find the neighbors within a given radius of a point or points.

        Points at distance exactly ``radius`` are included.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            The query points. If None, the neighbours of each training point,
            not counting the point itself.
        radius : float, default=None
            The constructor's value if None.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=False
            Sort each query's neighbours by distance (requires return_distance);
            otherwise they come in index order.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,) of arrays
            Only if return_distance.
        neigh_ind : ndarray of shape (n_queries,) of arrays
        """
        check_is_fitted(self)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        if X is not None:
            X = self._validate_X(X, reset=False)
        if radius is None:
            radius = self.radius
        dist, ind, indptr = self._radius_search(X, radius, sort_results)
        xp = _ops.array_namespace(ind)
        bounds = indptr[1:-1].tolist()
        neigh_ind = _object_array(xp.split(ind, bounds))
        if return_distance:
            return _object_array(xp.split(dist, bounds)), neigh_ind
        return neigh_ind

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity", sort_results=False):
        """Compute the (weighted) graph of Neighbors for points in X.

        Parameters are those of :meth:`radius_neighbors`; ``mode`` is
        'connectivity' (ones) or 'distance' (the distances); ``sort_results``
        applies to 'distance' only.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit), CSR
            On the device of the training data.
        """
        check_is_fitted(self)
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        if X is not None:
            X = self._validate_X(X, reset=False)
        if radius is None:
            radius = self.radius
        dist, ind, indptr = self._radius_search(X, radius, sort_results and mode == "distance")
        if mode == "connectivity":
            dist = _ops.array_namespace(ind).ones(ind.size)
        return _csr(dist, ind, indptr, (indptr.shape[0] - 1, self.n_samples_fit_))


class NearestNeighbors(KNeighborsMixin, RadiusNeighborsMixin, NeighborsBase):
    """Unsupervised learner for implementing neighbor searches.

    scikit-learn's ``NearestNeighbors`` on turbolearn's kernels: NumPy data is
    searched on the CPU, CuPy data on its GPU, and results stay on that device.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours for :meth:`kneighbors` queries.
    radius : float, default=1.0
        Range for :meth:`radius_neighbors` queries.
    algorithm : {'auto', 'ball_tree', 'kd_tree', 'brute'}, default='auto'
        Accepted for compatibility; all run exact brute force, whose results
        are those of scikit-learn's trees.
    leaf_size : int, default=30
        Accepted for compatibility; unused.
    metric : {'minkowski', 'euclidean', 'l2', 'sqeuclidean', 'cosine', \
'manhattan', 'l1', 'cityblock'}, default='minkowski'
    p : {1, 2}, default=2
        Minkowski power: 1 is manhattan, 2 euclidean.
    metric_params : dict, default=None
        Only ``{'p': 1 or 2}`` (and ``'w': None``) for metric='minkowski'.
    n_jobs : int, default=None
        CPU threads; None uses ``turbolearn.get_num_threads()``, -1 all processors.

    Attributes
    ----------
    effective_metric_ : str
    effective_metric_params_ : dict
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has feature names that are all strings.
    n_samples_fit_ : int

    Notes
    -----
    Distances come in the training dtype: float32 data gives float32 distances,
    where scikit-learn returns float64.
    """

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        algorithm="auto",
        leaf_size=30,
        metric="minkowski",
        p=2,
        metric_params=None,
        n_jobs=None,
    ):
        super().__init__(
            n_neighbors=n_neighbors,
            radius=radius,
            algorithm=algorithm,
            leaf_size=leaf_size,
            metric=metric,
            p=p,
            metric_params=metric_params,
            n_jobs=n_jobs,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the nearest neighbours estimator from the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 stays float32; other data becomes float64.
        y : Ignored

        Returns
        -------
        self : NearestNeighbors
        """
        return self._fit(X)


def _get_weights(dist, weights):
    """scikit-learn's neighbour weights (``neighbors._base._get_weights``), on the
    distances' device; None for 'uniform'.

    With 'distance', a query at zero distance from training points gives those
    points weight 1 and its other neighbours weight 0, rather than dividing by zero.
    """
    if weights in (None, "uniform"):
        return None
    if callable(weights):
        return weights(dist)
    xp = _ops.array_namespace(dist)
    with np.errstate(divide="ignore"):
        inverse = 1.0 / dist
    at_zero = xp.isinf(inverse)
    rows = xp.any(at_zero, axis=1)
    inverse[rows] = at_zero[rows]
    return inverse


class _WeightedKNeighborsMixin(KNeighborsMixin):
    """k-neighbours search that also returns the ``weights`` of the neighbours,
    for the supervised estimators' votes and averages."""

    # Listed before NeighborsBase in their bases, so this dict is the one validated.
    _parameter_constraints: dict = {
        **{k: v for k, v in NeighborsBase._parameter_constraints.items() if k != "radius"},
        "weights": [StrOptions({"uniform", "distance"}), callable, None],
    }

    # The signature of both supervised estimators (scikit-learn reads it for get_params).
    def __init__(
        self,
        n_neighbors=5,
        *,
        weights="uniform",
        algorithm="auto",
        leaf_size=30,
        p=2,
        metric="minkowski",
        metric_params=None,
        n_jobs=None,
    ):
        super().__init__(
            n_neighbors=n_neighbors,
            algorithm=algorithm,
            leaf_size=leaf_size,
            metric=metric,
            p=p,
            metric_params=metric_params,
            n_jobs=n_jobs,
        )
        self.weights = weights

    def _weighted_kneighbors(self, X):
        """(neigh_ind, weights) of X's neighbours; weights is None for 'uniform'."""
        if self.weights in (None, "uniform"):
            return self.kneighbors(X, return_distance=False), None
        dist, ind = self.kneighbors(X)
        weights = _get_weights(dist, self.weights)
        xp = _ops.array_namespace(weights)
        if bool(xp.any(xp.all(weights == 0, axis=1))):
            raise ValueError(
                "All neighbors of some sample is getting zero weights. "
                "Please modify 'weights' to avoid this case if you are "
                "using a user-defined function."
            )
        return ind, weights
