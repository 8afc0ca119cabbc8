"""k-nearest-neighbours regression with scikit-learn's interface."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from turbolearn import _ops
from turbolearn.neighbors._base import NeighborsBase, _WeightedKNeighborsMixin
from turbolearn.neighbors._classification import _PARAMETERS_DOC


class KNeighborsRegressor(_WeightedKNeighborsMixin, RegressorMixin, NeighborsBase):
    __doc__ = (
        """Regression based on k-nearest neighbors.

    The target of a query is the (weighted) mean of the targets of its
    neighbours. scikit-learn's ``KNeighborsRegressor`` on turbolearn's kernels:
    NumPy data is searched on the CPU, CuPy data on its GPU, where the fitted
    state and the predictions stay.
"""
        + _PARAMETERS_DOC
        + """
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
    A query whose weights are all zero (possible only with a callable
    ``weights``) raises ValueError, where scikit-learn returns NaN.
    """
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the k-nearest neighbors regressor from the training dataset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 stays float32; other data becomes float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        Returns
        -------
        self : KNeighborsRegressor
        """
        return self._fit(X, y)

    def predict(self, X):
        """Predict the target for the provided data.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), or None
            Test samples. If None, predictions for all training points, each
            point not counted as its own neighbour.

        Returns
        -------
        y : array of shape (n_queries,) or (n_queries, n_outputs)
            On the device of the training data. The mean of the neighbours'
            targets for 'uniform' weights (float32 targets give float32); float64
            otherwise, as in scikit-learn.
        """
        check_is_fitted(self)
        ind, weights = self._weighted_kneighbors(X)
        xp = _ops.array_namespace(ind)
        neighbour_y = self._y[ind]  # (n_queries, n_neighbors[, n_outputs])
        if weights is None:
            return xp.mean(neighbour_y, axis=1)
        if self._y.ndim == 2:
            weights = weights[:, :, None]
        total = xp.sum(neighbour_y * weights, axis=1, dtype=np.float64)
        return total / xp.sum(weights, axis=1, dtype=np.float64)
