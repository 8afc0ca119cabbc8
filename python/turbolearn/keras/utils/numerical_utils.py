"""``to_categorical`` and ``normalize`` (Keras 3's ``keras.utils`` numerical helpers)."""
import numpy as np

from .._tensor import Tensor, Variable, value_of

__all__ = ["normalize", "to_categorical"]


def to_categorical(x, num_classes=None):
    """One-hot float64 rows of the integer class labels ``x``: shape ``x.shape + (k,)``, a
    trailing axis of size 1 dropped first; ``k`` is ``num_classes`` or ``max(x) + 1``."""
    x = np.array(value_of(x), dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        if x.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass "
                             "num_classes")
        num_classes = int(np.max(x)) + 1
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got values "
                         f"from {x.min()} to {x.max()}")
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its ``order``-norm along ``axis`` (zero norms left as they are)."""
    if isinstance(x, (Tensor, Variable)):  # on the tape, so gradients flow
        from .. import ops
        norm = ops.norm(x, ord=order, axis=axis, keepdims=True)
        return x / ops.where(norm == 0, ops.ones_like(norm), norm)
    x = np.asarray(value_of(x)) if not isinstance(x, np.ndarray) else x
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    # Keras writes ``axis or -1``, which turns axis=0 into -1 (and fails); 0 means 0 here.
    return x / np.expand_dims(norm, -1 if axis is None else axis)
