"""The ops layer: every estimator and layer calls these, never an extension directly.

Each op runs on the device of its inputs and returns its result there.
"""
import os

from ._backend import BACKENDS, array_namespace, module_for, use_backend

__all__ = ["BACKENDS", "METRICS", "argkmin", "array_namespace", "pairwise_distances", "use_backend"]

METRICS = ("sqeuclidean", "euclidean", "cosine", "manhattan")


def _thread_count(n_threads):
    """None: the library's count (0 to the kernels); -1: every core; n: n."""
    if n_threads is None:
        return 0
    if n_threads == -1:
        return os.cpu_count() or 1
    if n_threads < 1:
        raise ValueError(f"n_threads must be None, -1 or >= 1, got {n_threads}")
    return int(n_threads)


def _require_matrix(a, name):
    if getattr(a, "ndim", None) != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {getattr(a, 'shape', None)}")


def pairwise_distances(X, Y=None, metric="euclidean", *, n_threads=None):
    """Distances between the rows of X (m, d) and Y (n, d); Y=None (or X itself): X against X,
    with an exactly zero diagonal. Same dtype in (float32/float64) and out; shape (m, n)."""
    same = Y is None or Y is X
    Y = X if Y is None else Y
    module = module_for(X, Y)
    _require_matrix(X, "X")
    _require_matrix(Y, "Y")
    out = array_namespace(X, Y).empty((X.shape[0], Y.shape[0]), dtype=X.dtype)
    module.pairwise_distances(X, Y, out, metric, same, _thread_count(n_threads))
    return out


def argkmin(X, Y=None, k=1, metric="euclidean", *, n_threads=None):
    """The k smallest distances of each row of X to the rows of Y, ascending, ties broken by
    the lower index, computed block by block (never the whole m x n matrix).

    Y=None (or X itself): X against X, a row's distance to itself being exactly 0.
    Returns (dist (m, k) in X's dtype, idx (m, k) int64).
    """
    same = Y is None or Y is X
    Y = X if Y is None else Y
    module = module_for(X, Y)
    _require_matrix(X, "X")
    _require_matrix(Y, "Y")
    if not 1 <= k <= Y.shape[0]:
        raise ValueError(f"k must be between 1 and the number of rows of Y ({Y.shape[0]}), got {k}")
    xp = array_namespace(X, Y)
    dist = xp.empty((X.shape[0], k), dtype=X.dtype)
    idx = xp.empty((X.shape[0], k), dtype=xp.int64)
    module.argkmin(X, Y, k, dist, idx, metric, same, _thread_count(n_threads))
    return dist, idx
