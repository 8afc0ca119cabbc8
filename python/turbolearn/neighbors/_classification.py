"""k-nearest-neighbours classification with scikit-learn's interface."""

import warnings

from sklearn.base import ClassifierMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from turbolearn import _ops
from turbolearn.metrics.pairwise import _is_device_array
from turbolearn.neighbors._base import NeighborsBase, _WeightedKNeighborsMixin

_PARAMETERS_DOC = """
    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours used by :meth:`kneighbors` and the predictions.
    weights : {'uniform', 'distance'}, callable or None, default='uniform'
        'uniform': every neighbour counts the same. 'distance': neighbours count
        by the inverse of their distance; a query at distance zero from training
        points is decided by those points alone. A callable gets the distances
        (n_queries, n_neighbors), in the training dtype, and returns weights of the
        same shape.
    algorithm : {'auto', 'ball_tree', 'kd_tree', 'brute'}, default='auto'
        Accepted for compatibility; all run exact brute force, whose neighbours
        are those of scikit-learn's trees.
    leaf_size : int, default=30
        Accepted for compatibility; unused.
    p : {1, 2}, default=2
        Minkowski power: 1 is manhattan, 2 euclidean.
    metric : {'minkowski', 'euclidean', 'l2', 'sqeuclidean', 'cosine', \\
'manhattan', 'l1', 'cityblock'}, default='minkowski'
    metric_params : dict, default=None
        Only ``{'p': 1 or 2}`` (and ``'w': None``) for metric='minkowski'.
    n_jobs : int, default=None
        CPU threads; None uses ``turbolearn.get_num_threads()``, -1 all processors.
"""


class KNeighborsClassifier(_WeightedKNeighborsMixin, ClassifierMixin, NeighborsBase):
    __doc__ = (
        """Classifier implementing the k-nearest neighbors vote.

    scikit-learn's ``KNeighborsClassifier`` on turbolearn's kernels: NumPy data
    is searched on the CPU, CuPy data on its GPU, where the fitted state
    (``classes_`` included) and the predictions stay.
"""
        + _PARAMETERS_DOC
        + """
    Attributes
    ----------
    classes_ : array of shape (n_classes,) or list of such arrays
        Class labels, one array per output.
    effective_metric_ : str
    effective_metric_params_ : dict
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has feature names that are all strings.
    n_samples_fit_ : int
    outputs_2d_ : bool
        False when y was 1-D (or a column vector) at fit.

    Notes
    -----
    Tied class votes go to the first class in ``classes_``, as in scikit-learn;
    between equally distant neighbours, the lower training index is chosen.
    With CuPy data the labels must be numeric.
    """
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the k-nearest neighbors classifier from the training dataset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 stays float32; other data becomes float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target labels.

        Returns
        -------
        self : KNeighborsClassifier
        """
        self._fit(X, y)
        y = self._y
        xp = _ops.array_namespace(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=2,
            )
        self.outputs_2d_ = y.ndim == 2 and y.shape[1] > 1
        y = y.reshape(y.shape[0], -1)
        if _is_device_array(y):
            # check_classification_targets would copy y to the host; on the device,
            # integer-valued labels are the discrete classes it accepts.
            if y.dtype.kind == "f" and not bool(xp.all(y == xp.round(y))):
                raise ValueError(
                    "Unknown label type: continuous. Maybe you are trying to fit a "
                    "classifier, which expects discrete classes on a regression target "
                    "with continuous values."
                )
        else:
            check_classification_targets(y)
        # Each label becomes its index in classes_: the vote counts per index.
        codes = xp.empty(y.shape, dtype=xp.int64)
        classes = []
        for k in range(y.shape[1]):
            classes_k, codes[:, k] = xp.unique(y[:, k], return_inverse=True)
            classes.append(classes_k)
        self.classes_ = classes if self.outputs_2d_ else classes[0]
        self._y = codes if self.outputs_2d_ else codes.ravel()
        return self

    def _outputs(self):
        """(classes, codes column) per output, whatever the shape of y at fit."""
        if self.outputs_2d_:
            return list(zip(self.classes_, self._y.T, strict=True))
        return [(self.classes_, self._y)]

    def predict(self, X):
        """Predict the class labels for the provided data.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), or None
            Test samples. If None, predictions for all training points, each
            point not counted as its own neighbour.

        Returns
        -------
        y : array of shape (n_queries,) or (n_queries, n_outputs)
            Class labels, on the device of the training data.
        """
        probabilities = self.predict_proba(X)
        if not self.outputs_2d_:
            return self.classes_[probabilities.argmax(axis=1)]
        xp = _ops.array_namespace(probabilities[0])
        labels = [
            classes[proba.argmax(axis=1)]
            for (classes, _), proba in zip(self._outputs(), probabilities, strict=True)
        ]
        return xp.stack(labels, axis=1)

    def predict_proba(self, X):
        """Return probability estimates for the test data X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), or None
            Test samples. If None, probabilities for all training points, each
            point not counted as its own neighbour.

        Returns
        -------
        p : array of shape (n_queries, n_classes), or a list of n_outputs such arrays
            float64 class probabilities, classes in the order of ``classes_``.
        """
        check_is_fitted(self)
        ind, weights = self._weighted_kneighbors(X)
        xp = _ops.array_namespace(ind)
        n_queries, k = ind.shape
        if weights is None:
            weights = xp.ones((n_queries, k))
        # Row i's votes go to bins i * n_classes + code: one bincount counts every
        # query, adding each row's weights in neighbour order (as scikit-learn does).
        row_offsets = xp.arange(n_queries)[:, None]
        probabilities = []
        for classes, codes in self._outputs():
            n_classes = classes.shape[0]
            bins = (row_offsets * n_classes + codes[ind]).ravel()
            votes = xp.bincount(bins, weights=weights.ravel(), minlength=n_queries * n_classes)
            votes = votes.reshape(n_queries, n_classes)
            probabilities.append(votes / votes.sum(axis=1, keepdims=True))
        return probabilities if self.outputs_2d_ else probabilities[0]

    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given test data and labels.

        With X=None, the leave-one-out accuracy on the training set: each
        point is predicted from its neighbours, not counting itself.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or None
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` against y (subset accuracy for
            several outputs).
        """
        return super().score(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
