"""The fused ops layers and losses are built on: one kernel call per direction.

``dense`` is matmul + bias + activation forward and the whole backward in one op family call
each; ``softmax_xent`` is softmax with cross-entropy from logits. Both record one Node.
"""
from .._ops.dense import FUSED_ACTIVATIONS, dense_backward, dense_forward
from .._ops.softmax_xent import softmax_xent_backward, softmax_xent_forward
from . import ops
from ._tensor import record, value_of


def _contiguous(v, dtype):
    if v.dtype != dtype or not v.flags.c_contiguous:
        return v.astype(dtype, order="C")
    return v


def dense(x, kernel, bias, activation="linear"):
    """activation(x @ kernel + bias) over x's last axis; activation a FUSED_ACTIVATIONS name.

    softmax and sigmoid outputs keep their logits (``_keras_logits``) so cross-entropy losses
    can use the stable fused form, as Keras does.
    """
    if activation in ("softmax", "sigmoid"):
        logits = dense(x, kernel, bias, "linear")
        return ops.softmax(logits) if activation == "softmax" else ops.sigmoid(logits)
    k = kernel.value
    xv = _contiguous(value_of(x), k.dtype)
    lead = xv.shape[:-1]
    x2 = xv.reshape(-1, xv.shape[-1])
    b = None if bias is None else bias.value
    y2 = dense_forward(x2, k, b, activation)

    def backward(g, needs):
        g2 = _contiguous(g, k.dtype).reshape(y2.shape)
        dx, dk, db = dense_backward(x2, k, y2, g2, activation, has_bias=b is not None,
                                    need_dx=needs[0])
        return (None if dx is None else dx.reshape(xv.shape), dk, db)
    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(y2.reshape(lead + (k.shape[1],)), parents, backward)


def softmax_xent(logits, labels):
    """Per-sample cross-entropy of softmax(logits) against integer labels (n,) or target
    probabilities (n, k); logits of any rank, classes on the last axis."""
    lv = value_of(logits)
    lab = value_of(labels)
    k = lv.shape[-1]
    l2 = _contiguous(lv, lv.dtype).reshape(-1, k)
    sparse = lab.ndim == lv.ndim - 1 or (lab.ndim == lv.ndim and lab.shape[-1] == 1
                                         and k != 1)
    lab2 = (lab.reshape(-1).astype("int64") if sparse
            else _contiguous(lab, lv.dtype).reshape(-1, k))
    loss, probs = softmax_xent_forward(l2, lab2)

    def backward(g, needs):
        return (softmax_xent_backward(probs, lab2, _contiguous(g, lv.dtype).reshape(-1))
                .reshape(lv.shape), None)
    return record(loss.reshape(lv.shape[:-1]), (logits, labels), backward)


__all__ = ["FUSED_ACTIVATIONS", "dense", "softmax_xent"]
