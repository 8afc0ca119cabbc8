"""The pool2d op family: max and average pooling of NHWC (channels_last) images.

``x`` is (batch, height, width, channels), float32 or float64, C-contiguous, all NumPy (CPU
kernels) or all CuPy (CUDA kernels); outputs come back on the same device. Windows never
take padding in: the maximum and the average are over the valid elements of each window
(Keras/TF ``'same'``; torch's ``count_include_pad=False``). Max pooling also returns the
argmax of each output (int32, the flat index ``ih * width + iw`` into the image plane, the
first maximum; a NaN wins), which its backward pass routes the gradient through.

Global pooling is the same op with the window and the stride of the whole image.
"""
from ._backend import array_namespace, module_for

MODES = ("max", "average")


def _pair(value, name):
    """(a, b) from a positive int or a sequence of two."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return pair


def pool2d_paddings(spatial_shape, pool_size, strides, padding):
    """``((top, bottom), (left, right))`` for Keras' ``padding`` (``'valid'`` or ``'same'``, any
    case) on images of ``spatial_shape`` (height, width): ``'same'`` pads to ``ceil(size /
    stride)`` outputs, the extra element at the bottom / right, as TensorFlow does."""
    kind = padding.lower() if isinstance(padding, str) else padding
    if kind not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    pool, stride = _pair(pool_size, "pool_size"), _pair(strides, "strides")
    if kind == "valid":
        return ((0, 0), (0, 0))
    pads = []
    for size, k, s in zip(spatial_shape, pool, stride):
        total = max(0, (-(-size // s) - 1) * s + k - size)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _output_shape(input_shape, pool, stride, paddings):
    n, h, w, c = input_shape
    (top, bottom), (left, right) = paddings
    # A window larger than the padded input gives a negative size, which the kernel reports.
    oh = max(0, (h + top + bottom - pool[0]) // stride[0] + 1)
    ow = max(0, (w + left + right - pool[1]) // stride[1] + 1)
    return (n, oh, ow, c)


def pool2d_forward(x, pool_size, strides, paddings, mode, *, out=None, argmax=None):
    """Pools x (n, h, w, c) with windows ``pool_size`` (kh, kw) moved by ``strides`` (sh, sw)
    over x padded by ``paddings`` ((top, bottom), (left, right)), each padding smaller than
    its window; ``mode`` is ``'max'`` or ``'average'``. Writes ``out`` (n, oh, ow, c) and, for
    max, ``argmax`` (same shape, int32), allocating those that are None. Returns ``(out,
    argmax)``, argmax None for average pooling."""
    pool, stride = _pair(pool_size, "pool_size"), _pair(strides, "strides")
    if mode not in MODES:
        raise ValueError(f"unknown pooling mode {mode!r}; expected 'max' or 'average'")
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"x must be a 4-D array (batch, height, width, channels), got shape "
                         f"{getattr(x, 'shape', None)}")
    module = module_for(*(a for a in (x, out, argmax) if a is not None))
    xp = array_namespace(x)
    shape = _output_shape(x.shape, pool, stride, paddings)
    if out is None:
        out = xp.empty(shape, dtype=x.dtype)
    if mode == "max" and argmax is None:
        argmax = xp.empty(shape, dtype=xp.int32)
    module.pool2d_forward(x, out, argmax if mode == "max" else None, pool, stride, paddings, mode)
    return out, argmax if mode == "max" else None


def pool2d_backward(grad_out, argmax, input_shape, pool_size, strides, paddings, mode):
    """The gradient of :func:`pool2d_forward` with respect to x (of ``input_shape``) for
    ``grad_out`` (n, oh, ow, c), through the ``argmax`` forward returned (max; None for
    average). Each input element gathers the gradients of the windows holding it (max: where
    it is the argmax; average: divided by each window's count of valid elements)."""
    pool, stride = _pair(pool_size, "pool_size"), _pair(strides, "strides")
    module = module_for(grad_out) if argmax is None else module_for(grad_out, argmax)
    if len(tuple(input_shape)) != 4:
        raise ValueError(f"input_shape must have 4 entries, got {tuple(input_shape)}")
    dx = array_namespace(grad_out).empty(tuple(input_shape), dtype=grad_out.dtype)
    module.pool2d_backward(grad_out, argmax, dx, pool, stride, paddings, mode)
    return dx
