"""The dbscan op family: core points, clusters and border points in one call, O(n) memory."""
from ._backend import array_namespace, module_for
from ._checks import require_matrix, thread_count

METRICS = ("euclidean", "manhattan")


def dbscan(X, eps, min_samples, sample_weight=None, metric="euclidean", *, n_threads=None):
    """DBSCAN of the rows of X (n, d) with scikit-learn's labels.

    A point is core when the weight of its eps-neighbourhood (distance <= eps, itself
    included) is at least min_samples; clusters are numbered in order of their lowest-index
    core point, border points take the smallest label among their core neighbours, noise -1.
    sample_weight: None or float64 (n,) on X's device. Returns (labels int64 (n,), core bool (n,)).
    """
    module = module_for(X) if sample_weight is None else module_for(X, sample_weight)
    require_matrix(X, "X")
    xp = array_namespace(X)
    labels = xp.empty(X.shape[0], dtype=xp.int64)
    core = xp.empty(X.shape[0], dtype=xp.uint8)
    module.dbscan(X, float(eps), float(min_samples), sample_weight, metric, labels, core,
                  thread_count(n_threads))
    return labels, core.view(xp.bool_)
