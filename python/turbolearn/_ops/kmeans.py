"""The k-means op family: the fused assignment step, one Lloyd iteration, the mini-batch update.

Every function takes arrays of one float dtype (float32 or float64) on one device, labels as
int32, and runs on that device (NumPy: the CPU kernels; CuPy: the CUDA kernels). Outputs are
written in place into arrays the caller passes, so a fit allocates its buffers once.
"""
from ._backend import array_namespace, module_for
from ._checks import require_matrix, thread_count


def kmeans_row_sqnorms(X, *, n_threads=None):
    """||X[i]||^2 for each row of X (n,), in X's dtype: computed once per fit."""
    module = module_for(X)
    require_matrix(X, "X")
    out = array_namespace(X).empty(X.shape[0], dtype=X.dtype)
    module.kmeans_row_sqnorms(X, out, thread_count(n_threads))
    return out


def kmeans_assign(X, centers, sample_weight, labels, *, x_sqnorms=None, exact=True,
                  n_threads=None):
    """Assign each row of X to its nearest centre (ties: the lower index), in place in
    ``labels`` (int32, (n,), holding the previous labels or anything).

    Returns ``(inertia, n_changed)``: the weighted inertia (from differences with
    ``exact=True``; from the GEMM tile, clamped at 0, with ``exact=False``, which needs
    ``x_sqnorms``) and the number of labels that changed.
    """
    module = module_for(X, centers, sample_weight, labels,
                        *(() if x_sqnorms is None else (x_sqnorms,)))
    require_matrix(X, "X")
    require_matrix(centers, "centers")
    inertia, changed = module.kmeans_assign(X, x_sqnorms, sample_weight, centers, labels, exact,
                                            thread_count(n_threads))
    return float(inertia), int(changed)


def kmeans_lloyd_iter(X, x_sqnorms, sample_weight, centers_old, centers_new, weight_in_clusters,
                      labels, center_shift, *, n_threads=None):
    """One Lloyd iteration, as scikit-learn's ``lloyd_iter_chunked_dense``: labels against
    ``centers_old``, new centres (empty clusters relocated to the farthest points), their
    weights and shifts, all written in place. Returns ``(inertia, n_changed)`` of the
    assignment (inertia from the GEMM tile, against ``centers_old``)."""
    module = module_for(X, x_sqnorms, sample_weight, centers_old, centers_new,
                        weight_in_clusters, labels, center_shift)
    require_matrix(X, "X")
    require_matrix(centers_old, "centers_old")
    inertia, changed = module.kmeans_lloyd_iter(X, x_sqnorms, sample_weight, centers_old,
                                                centers_new, weight_in_clusters, labels,
                                                center_shift, thread_count(n_threads))
    return float(inertia), int(changed)


def kmeans_minibatch_step(X, sample_weight, centers_old, centers_new, weight_sums, labels, *,
                          n_threads=None):
    """scikit-learn's mini-batch step without the random reassignment: labels of the batch,
    then count-weighted centre updates (``centers_new`` may be ``centers_old``) and
    ``weight_sums`` grown, in place. Returns ``(inertia, n_changed)`` of the batch
    (exact inertia, against ``centers_old``)."""
    module = module_for(X, sample_weight, centers_old, centers_new, weight_sums, labels)
    require_matrix(X, "X")
    require_matrix(centers_old, "centers_old")
    inertia, changed = module.kmeans_minibatch_step(X, sample_weight, centers_old, centers_new,
                                                    weight_sums, labels, thread_count(n_threads))
    return float(inertia), int(changed)


def kmeans_plusplus_distances(G, xx, yy, closest=None, *, dtype, n_threads=None):
    """Squared distances of k-means++ candidates to every sample, finished from their float64
    dot products ``G`` (m, n) with the candidates' and samples' float64 squared norms
    ``xx`` (m,), ``yy`` (n,) in scikit-learn's operations and order:
    ``min(closest, max(dtype((-2 G + xx) + yy), 0))`` (no min when ``closest`` is None).
    Returns an (m, n) array of ``dtype``."""
    module = module_for(G, xx, yy, *(() if closest is None else (closest,)))
    require_matrix(G, "G")
    out = array_namespace(G).empty(G.shape, dtype=dtype)
    module.kmeans_plusplus_distances(G, xx, yy, closest, out, thread_count(n_threads))
    return out
