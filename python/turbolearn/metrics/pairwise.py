"""Pairwise distances with scikit-learn's interface, computed by turbolearn's kernels."""

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils.validation import check_array

from turbolearn import _ops

# scikit-learn's other names for the metrics the kernels compute.
_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
VALID_METRICS = tuple(sorted((*_ops.METRICS, *_ALIASES)))

# Float inputs keep their precision; anything else (ints, bools, float16, objects)
# becomes float64, as in scikit-learn. The first entry is the conversion target.
_FLOAT_DTYPES = (np.float64, np.float32)


def _kernel_metric(metric):
    """The ops-layer name of a scikit-learn metric name."""
    if not isinstance(metric, str) or _ALIASES.get(metric, metric) not in _ops.METRICS:
        raise ValueError(f"Unknown metric {metric!r}. Valid metrics are {list(VALID_METRICS)}.")
    return _ALIASES.get(metric, metric)


def _n_threads(n_jobs):
    """Kernel thread count for scikit-learn's ``n_jobs``.

    None keeps the library-wide setting (``turbolearn.set_num_threads``) rather
    than joblib's default of 1, so a user's global choice is honoured.
    """
    return None if n_jobs is None else effective_n_jobs(n_jobs)


def _is_device_array(X):
    return _ops.array_namespace(X) is not np


def _check_array(X, *, dtype=_FLOAT_DTYPES, input_name="X"):
    """``check_array`` for the kernels: 2-D, non-empty, finite, C-contiguous float.

    Device (CuPy) arrays get the same checks with their own namespace, since
    ``check_array`` would copy them to the host (or refuse to).
    """
    if not _is_device_array(X):
        return check_array(X, dtype=dtype, order="C", input_name=input_name)
    xp = _ops.array_namespace(X)
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead.")
    for axis, what in enumerate(("sample", "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if X.dtype not in dtypes:
        X = X.astype(dtypes[0])
    if not bool(xp.isfinite(X).all()):
        raise ValueError(f"Input {input_name} contains NaN or infinity.")
    return xp.ascontiguousarray(X)


def pairwise_distances(X, Y=None, metric="euclidean", n_jobs=None):
    """Distance matrix between the rows of X and the rows of Y.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        NumPy input is computed on the CPU, CuPy input on its GPU; the result
        stays on the input's device.
    Y : array-like of shape (n_samples_Y, n_features), default=None
        If None, the distances between the rows of X, with an exact zero diagonal.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'manhattan', 'l2', 'l1', 'cityblock'}
    n_jobs : int, default=None
        Threads for the CPU kernels; None uses ``turbolearn.get_num_threads()``,
        -1 all processors.

    Returns
    -------
    D : array of shape (n_samples_X, n_samples_Y)
        float32 when X (and Y) are float32, float64 otherwise.
    """
    metric = _kernel_metric(metric)
    X = _check_array(X)
    if Y is not None:
        Y = _check_array(Y, input_name="Y")
        if X.dtype != Y.dtype:
            X, Y = X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False)
        if X.shape[1] != Y.shape[1]:
            raise ValueError(
                "Incompatible dimension for X and Y matrices: "
                f"X.shape[1] == {X.shape[1]} while Y.shape[1] == {Y.shape[1]}"
            )
    return _ops.pairwise_distances(X, Y, metric, n_threads=_n_threads(n_jobs))
