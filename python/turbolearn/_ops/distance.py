"""The distance op family: pairwise distances and the fused k-smallest (argkmin)."""
from ._backend import array_namespace, module_for
from ._checks import require_matrix, thread_count

METRICS = ("sqeuclidean", "euclidean", "cosine", "manhattan")


def pairwise_distances(X, Y=None, metric="euclidean", *, n_threads=None):
    """Distances between the rows of X (m, d) and Y (n, d); Y=None (or X itself): X against X,
    with an exactly zero diagonal. Same dtype in (float32/float64) and out; shape (m, n)."""
    same = Y is None or Y is X
    Y = X if Y is None else Y
    module = module_for(X, Y)
    require_matrix(X, "X")
    require_matrix(Y, "Y")
    out = array_namespace(X, Y).empty((X.shape[0], Y.shape[0]), dtype=X.dtype)
    module.pairwise_distances(X, Y, out, metric, same, thread_count(n_threads))
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
    require_matrix(X, "X")
    require_matrix(Y, "Y")
    if not 1 <= k <= Y.shape[0]:
        raise ValueError(f"k must be between 1 and the number of rows of Y ({Y.shape[0]}), got {k}")
    xp = array_namespace(X, Y)
    dist = xp.empty((X.shape[0], k), dtype=X.dtype)
    idx = xp.empty((X.shape[0], k), dtype=xp.int64)
    module.argkmin(X, Y, k, dist, idx, metric, same, thread_count(n_threads))
    return dist, idx
