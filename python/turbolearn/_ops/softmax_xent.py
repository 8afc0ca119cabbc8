"""TEMPORARY NumPy stand-in for the softmax_xent op family (replaced by the kernel branch)."""
import numpy as np


def softmax_xent_forward(logits, labels):
    m = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=1, keepdims=True)) + m
    probs = np.exp(logits - lse)
    if labels.ndim == 1:
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise ValueError("label out of range")
        loss = lse[:, 0] - logits[np.arange(len(labels)), labels]
    else:
        loss = (labels * (lse - logits)).sum(axis=1)
    return loss.astype(logits.dtype), probs.astype(logits.dtype)


def softmax_xent_backward(probs, labels, grad_loss):
    d = probs.copy()
    if labels.ndim == 1:
        d[np.arange(len(labels)), labels] -= 1
    else:
        d -= labels
    return d * grad_loss[:, None]
