"""``dense``: a fully connected layer, matmul + bias + activation, one dense family kernel
call per direction."""
from ..._ops.dense import dense_backward, dense_forward
from .. import ops
from .._tensor import record, value_of
from .common import _contiguous


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
