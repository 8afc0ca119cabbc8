"""``softmax_xent``: softmax cross-entropy from logits, one softmax_xent kernel call per
direction (the stable form Keras' losses take for softmax outputs)."""
from ..._ops.softmax_xent import softmax_xent_backward, softmax_xent_forward
from .._tensor import record, value_of
from .common import _contiguous


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
