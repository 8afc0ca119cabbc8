"""The softmax_xent op family: softmax fused with cross-entropy.

Labels are sparse (one class index per row, any integer dtype; converted to int64) or
categorical (an (n, k) array of target probabilities of the logits' float dtype). Arrays are
all NumPy (CPU kernels) or all CuPy (CUDA kernels); outputs come back on the same device.
"""
from ._backend import array_namespace, module_for
from ._checks import require_matrix


def _int64_labels(labels):
    kind = getattr(getattr(labels, "dtype", None), "kind", None)
    if kind in ("i", "u") and labels.dtype.itemsize != 8 or kind == "u":
        return labels.astype("int64")
    return labels


def softmax_xent_forward(logits, labels):
    """Per-row cross-entropy of ``softmax(logits)`` (n, k) against ``labels``.

    ``loss_i = logsumexp(logits_i) - logits[i, labels_i]`` (sparse) or
    ``sum_j labels_ij * (logsumexp(logits_i) - logits_ij)`` (categorical; rows summing to 1
    give ``logsumexp - labels_i . logits_i``), max-subtracted so it never overflows.
    Returns ``(loss (n,), probs (n, k))``. A sparse label outside [0, k) raises ValueError."""
    module = module_for(logits, labels)
    require_matrix(logits, "logits")
    xp = array_namespace(logits)
    loss = xp.empty(logits.shape[0], dtype=logits.dtype)
    probs = xp.empty(logits.shape, dtype=logits.dtype)
    module.softmax_xent_forward(logits, _int64_labels(labels), loss, probs)
    return loss, probs


def softmax_xent_backward(probs, labels, grad_loss):
    """``dlogits = (probs - labels) * grad_loss[:, None]``, labels one-hot when sparse
    (categorical rows are scaled by their sum: ``probs * sum(labels_i) - labels_i``, the
    gradient of the loss above). Returns dlogits (n, k)."""
    module = module_for(probs, labels, grad_loss)
    require_matrix(probs, "probs")
    dlogits = array_namespace(probs).empty(probs.shape, dtype=probs.dtype)
    module.softmax_xent_backward(probs, _int64_labels(labels), grad_loss, dlogits)
    return dlogits
