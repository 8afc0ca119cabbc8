"""``pool`` and ``global_pool``: max / average pooling (1-D and 2-D, either data format) on
the pool2d kernels, one recorded op per call (channels_first transposed inside it)."""
import numpy as np

from ..._ops.pool2d import pool2d_backward, pool2d_forward, pool2d_paddings
from .. import ops
from .._tensor import floatx, record


def _pool_dtype(v):
    """float32 / float64 pool in their own dtype; anything else in floatx."""
    return v.dtype if v.dtype in (np.float32, np.float64) else np.dtype(floatx())


def _to_nhwc(v, channels_first):
    """(n, h, w, c) C-contiguous from a 2-D (n, h, w, c | n, c, h, w) or 1-D (n, w, c |
    n, c, w) batch: 1-D data is an image of one row."""
    if channels_first:
        v = v.transpose((0, 2, 3, 1) if v.ndim == 4 else (0, 2, 1))
    if v.ndim == 3:
        v = v[:, None]
    return np.ascontiguousarray(v)


def _from_nhwc(v, channels_first, rank):
    """The inverse of _to_nhwc for a result of the same rank."""
    if rank == 3:
        v = v[:, 0]
    if channels_first:
        v = v.transpose((0, 3, 1, 2) if rank == 4 else (0, 2, 1))
    return v


def _split_ties(x4, y4, g4):
    """The gradient of a max over each image's whole plane as Keras takes it (reduce_max /
    amax): split evenly among the elements equal to the maximum."""
    ties = x4 == y4
    count = ties.sum(axis=(1, 2), keepdims=True, dtype=x4.dtype)
    return np.where(ties, g4 / np.maximum(count, 1), x4.dtype.type(0))


def _pooling(x, window, strides, padding, mode, channels_first, flat=False, split_ties=False):
    """The recorded pool2d op on x (rank 3 or 4) with 2-D ``window`` / ``strides`` over its
    NHWC view; ``flat``: the result (n, 1, 1, c) as (n, c); ``split_ties``: a global max whose
    gradient is shared among tied maxima instead of going to the argmax."""
    xv = ops._array(x)
    rank = xv.ndim
    dtype = _pool_dtype(xv)
    x4 = _to_nhwc(xv.astype(dtype, copy=False), channels_first)
    paddings = pool2d_paddings(x4.shape[1:3], window, strides, padding)
    y4, argmax = pool2d_forward(x4, window, strides, paddings, mode)

    def backward(g, needs):
        g = g.astype(dtype, copy=False)
        g4 = np.ascontiguousarray(g).reshape(y4.shape) if flat else _to_nhwc(g, channels_first)
        if split_ties:
            dx4 = _split_ties(x4, y4, g4)
        else:
            dx4 = pool2d_backward(g4, argmax, x4.shape, window, strides, paddings, mode)
        return (_from_nhwc(dx4, channels_first, rank).astype(xv.dtype, copy=False),)
    y = y4.reshape(y4.shape[0], y4.shape[3]) if flat else _from_nhwc(y4, channels_first, rank)
    return record(y, (x,), backward)


def _pool_rank(x):
    rank = len(ops.shape(x))
    if rank not in (3, 4):
        raise ValueError("Inputs to pooling ops must have ndim=3 or 4, corresponding to 1D and "
                         f"2D inputs. Received input shape: {ops.shape(x)}.")
    return rank


def pool(x, pool_size, strides, padding, mode, data_format="channels_last"):
    """Max (``mode='max'``) or average pooling of x over its 1 (rank 3) or 2 (rank 4)
    spatial axes with Keras' semantics: ``pool_size`` / ``strides`` tuples of that length,
    ``padding`` 'valid' or 'same' (any case; the extra pad at the end, windows counting only
    valid elements), channels last or first. One pool2d kernel call per direction."""
    rank = _pool_rank(x)
    window = tuple(pool_size) if rank == 4 else (1, pool_size[0])
    steps = tuple(strides) if rank == 4 else (1, strides[0])
    return _pooling(x, window, steps, padding, mode, data_format == "channels_first")


def global_pool(x, mode, data_format="channels_last", keepdims=False):
    """Max or average of x over all its spatial axes (rank 3 or 4): (n, c), or with
    ``keepdims`` size-1 spatial axes kept. The forward pass is one pool2d kernel call, its
    window the whole image; so is the average's backward. The max's backward follows Keras'
    reduce_max: tied maxima share the gradient (max pooling gives it to the first), which
    takes a compare and a sum over the input in NumPy."""
    _pool_rank(x)
    xv = ops._array(x)
    channels_first = data_format == "channels_first"
    spatial = xv.shape[2:] if channels_first else xv.shape[1:-1]
    window = tuple(spatial) if xv.ndim == 4 else (1,) + tuple(spatial)
    return _pooling(x, window, window, "valid", mode, channels_first, flat=not keepdims,
                    split_ties=mode == "max")
