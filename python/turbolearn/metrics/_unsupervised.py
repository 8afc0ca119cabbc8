"""Silhouette coefficients with scikit-learn's interface, on turbolearn's distance kernels."""

from numbers import Integral

import numpy as np
from sklearn import get_config
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_consistent_length, column_or_1d

from turbolearn import _ops
from turbolearn.metrics.pairwise import (
    VALID_METRICS,
    _check_array,
    _is_device_array,
    _kernel_metric,
)


def _check_labels(labels, X):
    """Labels as codes 0..n_labels-1 on X's device, and the size of each cluster."""
    xp = _ops.array_namespace(X)
    if _is_device_array(X):
        labels = xp.asarray(labels)  # a host array is copied to the device once
        if labels.ndim != 1:
            raise ValueError(
                f"y should be a 1d array, got an array of shape {labels.shape} instead."
            )
    else:
        labels = column_or_1d(labels, warn=True)
    check_consistent_length(X, labels)
    classes, codes = xp.unique(labels, return_inverse=True)
    n_labels, n_samples = classes.shape[0], X.shape[0]
    if not 1 < n_labels < n_samples:
        raise ValueError(
            "Number of labels is %d. Valid values are 2 to n_samples - 1 (inclusive)" % n_labels
        )
    return codes.ravel(), xp.bincount(codes.ravel(), minlength=n_labels)


@validate_params(
    {
        "X": ["array-like"],
        "labels": ["array-like"],
        "metric": [StrOptions({*VALID_METRICS, "precomputed"})],
    },
    prefer_skip_nested_validation=True,
)
def silhouette_samples(X, labels, *, metric="euclidean"):
    """Compute the Silhouette Coefficient for each sample.

    ``(b - a) / max(a, b)``, where a is a sample's mean distance to the other
    members of its cluster and b its mean distance to the members of the nearest
    other cluster; 0 for a sample alone in its cluster.

    The distances are computed by rows of X at a time, as many as scikit-learn's
    ``working_memory`` setting allows, so the n x n matrix never exists.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples)
        Feature array, or the distance matrix for metric='precomputed' (with
        zeros on its diagonal). NumPy input is computed on the CPU, CuPy input
        on its GPU.
    labels : array-like of shape (n_samples,)
        Cluster label of each sample; 2 to n_samples - 1 distinct labels.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'manhattan', 'l2', 'l1', \
'cityblock', 'precomputed'}, default='euclidean'

    Returns
    -------
    silhouette : array of shape (n_samples,)
        On X's device; float32 for float32 X, float64 otherwise.
    """
    X = _check_array(X)
    codes, sizes = _check_labels(labels, X)
    xp = _ops.array_namespace(X)
    n_samples, n_labels = X.shape[0], sizes.shape[0]
    if metric == "precomputed":
        if bool(xp.any(xp.abs(X.diagonal()) > np.finfo(X.dtype).eps * 100)):
            raise ValueError(
                "The precomputed distance matrix contains non-zero elements on the "
                "diagonal. Use np.fill_diagonal(X, 0)."
            )
    else:
        metric = _kernel_metric(metric)
    # Samples sorted by cluster make each cluster a run of columns of a distance
    # block, summed by one reduceat: O(n) per row whatever the number of clusters
    # (a one-hot GEMM costs O(n * n_labels) and n x n_labels memory), accumulated in
    # float64 as scikit-learn's bincount does.
    order = xp.argsort(codes, kind="stable")
    codes = codes[order]
    starts = xp.concatenate([xp.zeros(1, dtype=sizes.dtype), xp.cumsum(sizes)[:-1]])
    Xs = None if metric == "precomputed" else X[order]
    # Per row: its distances and their float64 cluster sums, as scikit-learn's
    # pairwise_distances_chunked counts working memory.
    row_bytes = n_samples * X.itemsize + n_labels * 8
    step = max(1, min(n_samples, int(get_config()["working_memory"] * 2**20 // row_bytes)))
    a = xp.empty(n_samples, dtype=X.dtype)
    b = xp.empty(n_samples, dtype=X.dtype)
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        rows = xp.arange(stop - start)
        if metric == "precomputed":
            D = X[order[start:stop]][:, order]
        else:
            D = _ops.pairwise_distances(Xs[start:stop], Xs, metric)
            # A point's distance to itself is 0 by definition; the GEMM-based
            # metrics would leave round-off there (scikit-learn zeroes it for euclidean).
            D[rows, rows + start] = 0
        sums = xp.add.reduceat(D, starts, axis=1, dtype=np.float64)
        own = codes[start:stop]
        a[start:stop] = sums[rows, own]
        sums[rows, own] = xp.inf
        b[start:stop] = (sums / sizes).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a /= (sizes - 1)[codes]
        s = (b - a) / xp.maximum(a, b)
    # Singletons (a = 0/0) score 0; back to the order of X.
    out = xp.empty_like(s)
    out[order] = xp.nan_to_num(s)
    return out


@validate_params(
    {
        "X": ["array-like"],
        "labels": ["array-like"],
        "metric": [StrOptions({*VALID_METRICS, "precomputed"})],
        "sample_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None):
    """Compute the mean Silhouette Coefficient of all samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples)
        Feature array, or the distance matrix for metric='precomputed'.
    labels : array-like of shape (n_samples,)
        Cluster label of each sample; 2 to n_samples - 1 distinct labels.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'manhattan', 'l2', 'l1', \
'cityblock', 'precomputed'}, default='euclidean'
    sample_size : int, default=None
        Score a random subset of this many samples; None uses all.
    random_state : int, RandomState instance or None, default=None
        Draws the subset when sample_size is not None; the same seed draws the
        same subset as scikit-learn.

    Returns
    -------
    silhouette : float
        Mean Silhouette Coefficient, between -1 and 1.
    """
    if sample_size is not None:
        X = _check_array(X)
        xp = _ops.array_namespace(X)
        labels = xp.asarray(labels) if _is_device_array(X) else column_or_1d(labels)
        check_consistent_length(X, labels)
        # Drawn on the host, as scikit-learn draws it, and applied on X's device.
        indices = xp.asarray(check_random_state(random_state).permutation(X.shape[0])[:sample_size])
        X = X[indices][:, indices] if metric == "precomputed" else X[indices]
        labels = labels[indices]
    return float(silhouette_samples(X, labels, metric=metric).mean())
