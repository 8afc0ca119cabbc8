"""The conv2d op family: 2-D convolution forward and backward, and transposed convolution.

Layouts are Keras' defaults: inputs and outputs NHWC ``(n, h, w, channels)``, kernels
``(kh, kw, channels // groups, filters)``. Paddings are explicit, ``((top, bottom), (left,
right))``; :func:`conv_padding` and :func:`conv_transpose_padding` turn Keras' 'valid' /
'same' / 'causal' (and a transposed convolution's output_padding) into those numbers, so the
kernels know no padding modes. The bias and the activation (one of
:data:`~turbolearn._ops.dense.FUSED_ACTIVATIONS`, softmax over the channels) are fused into
the forward pass, and the backward pass takes the activation's derivative from the forward
output, as the dense family does. Arrays are float32 or float64, C-contiguous, all NumPy
(CPU kernels) or all CuPy (CUDA kernels); outputs come back on the same device.

A transposed convolution from x ``(n, h, w, c)`` to out ``(n, oh, ow, f)`` is the data
gradient of the convolution from out's shape to x's; its kernel keeps that convolution's
layout ``(kh, kw, f // groups, c)``, which is Keras' Conv2DTranspose layout ``(kh, kw,
filters, input channels)``, and its strides, padding and dilation are that convolution's.
"""
from ._backend import array_namespace, module_for

__all__ = ["conv2d_algorithms", "conv2d_backward", "conv2d_forward", "conv2d_output_size",
           "conv2d_transpose_backward", "conv2d_transpose_forward", "conv_padding",
           "conv_transpose_padding"]


def _pair(v, name):
    try:
        pair = (int(v[0]), int(v[1])) if len(v) == 2 else None
    except TypeError:
        pair = None
    if pair is None:
        raise ValueError(f"{name} must be a pair of integers, got {v!r}")
    return pair


def _flat_padding(padding):
    """((top, bottom), (left, right)) -> (top, bottom, left, right)."""
    try:
        (top, bottom), (left, right) = padding
    except (TypeError, ValueError):
        raise ValueError("padding must be ((top, bottom), (left, right)), got "
                         f"{padding!r}") from None
    return int(top), int(bottom), int(left), int(right)


def _require_4d(a, name):
    if getattr(a, "ndim", None) != 4:
        raise ValueError(f"{name} must be a 4-D array, got shape {getattr(a, 'shape', None)}")


def conv_padding(size, kernel_size, stride, dilation, padding):
    """(before, after) padding of one spatial axis for Keras' ``padding`` ('valid', 'same' or
    'causal', lower case). 'same' pads as TensorFlow and Keras do, the extra pixel after:
    ``total = max((ceil(size / stride) - 1) * stride + dilated kernel - size, 0)``, before =
    total // 2. 'causal' (Conv1D) pads only before, by the dilated kernel minus one."""
    extent = dilation * (kernel_size - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return extent - 1, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + extent - size, 0)
        return total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid', 'same' or 'causal', got {padding!r}")


def conv_transpose_padding(size, kernel_size, stride, dilation, padding, output_padding=None):
    """(output size, (before, after)) of one spatial axis of a transposed convolution, Keras 3's
    (its JAX and torch backends agree): 'valid' gives ``(size - 1) * stride + max(extent,
    stride)``, 'same' ``size * stride``, and an ``output_padding`` makes it ``(size - 1) *
    stride + extent - 2 * pad + output_padding`` (pad = extent // 2 for 'same', else 0). The
    padding returned is that of the convolution it transposes (negative: cropped)."""
    extent = dilation * (kernel_size - 1) + 1
    if padding == "valid":
        extra = max(extent, stride) - extent if output_padding is None else output_padding
        left, right = extent - 1, extent - 1 + extra
    elif padding == "same":
        total = (stride + extent - 2 if output_padding is None
                 else extent + extent % 2 - 2 + output_padding)
        left = min(total // 2 + total % 2, extent - 1)
        right = total - left
    else:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    out = (size - 1) * stride + left + right - extent + 2
    return out, (extent - 1 - left, extent - 1 - right)


def conv2d_output_size(size, kernel_size, stride, dilation, before, after):
    """Output size of one spatial axis of a convolution with explicit padding."""
    if stride < 1:
        raise ValueError(f"conv2d: the stride must be >= 1, got {stride}")
    return (size + before + after - dilation * (kernel_size - 1) - 1) // stride + 1


def conv2d_forward(x, kernel, bias, strides, padding, dilation, groups, activation, *, out=None):
    """``activation(conv2d(x, kernel) + bias)`` for x (n, h, w, c), kernel (kh, kw, c //
    groups, f), bias (f,) or None, into ``out`` (n, oh, ow, f; allocated when None).
    ``strides`` and ``dilation`` are pairs, ``padding`` is ((top, bottom), (left, right)).
    Returns ``out``."""
    arrays = (x, kernel) if bias is None else (x, kernel, bias)
    module = module_for(*arrays) if out is None else module_for(*arrays, out)
    strides, dilation = _pair(strides, "strides"), _pair(dilation, "dilation")
    pads = _flat_padding(padding)
    if out is None:
        _require_4d(x, "x")
        _require_4d(kernel, "kernel")
        oh = conv2d_output_size(x.shape[1], kernel.shape[0], strides[0], dilation[0], *pads[:2])
        ow = conv2d_output_size(x.shape[2], kernel.shape[1], strides[1], dilation[1], *pads[2:])
        shape = (x.shape[0], max(oh, 0), max(ow, 0), kernel.shape[3])
        out = array_namespace(x).empty(shape, dtype=x.dtype)
    module.conv2d_forward(x, kernel, bias, out, strides, pads, dilation, int(groups), activation)
    return out


def conv2d_backward(x, kernel, out, grad_out, strides, padding, dilation, groups, activation, *,
                    has_bias, need_dx):
    """Gradients of :func:`conv2d_forward` from its output ``out`` and ``grad_out``:
    ``delta = grad_out * activation'(out)`` in one fused pass (with the bias gradient, its
    channel sums), then the kernel gradient and, only if ``need_dx``, the input gradient.
    Returns ``(dx or None, dkernel, dbias or None)``."""
    module = module_for(x, kernel, out, grad_out)
    _require_4d(x, "x")
    _require_4d(kernel, "kernel")
    xp = array_namespace(x)
    dx = xp.empty(x.shape, dtype=x.dtype) if need_dx else None
    dkernel = xp.empty(kernel.shape, dtype=x.dtype)
    dbias = xp.empty(kernel.shape[3], dtype=x.dtype) if has_bias else None
    module.conv2d_backward(x, kernel, out, grad_out, _pair(strides, "strides"),
                           _flat_padding(padding), _pair(dilation, "dilation"), int(groups),
                           activation, dx, dkernel, dbias)
    return dx, dkernel, dbias


def conv2d_transpose_forward(x, kernel, bias, output_size, strides, padding, dilation, groups,
                             activation, *, out=None):
    """``activation(conv2d_transpose(x, kernel) + bias)`` for x (n, h, w, f), kernel (kh, kw,
    c // groups, f), bias (c,) or None, into ``out`` (n, oh, ow, c) with ``output_size`` =
    (oh, ow) (allocated when None). ``strides``, ``padding`` and ``dilation`` are those of
    the convolution from out's shape to x's (see :func:`conv_transpose_padding`)."""
    arrays = (x, kernel) if bias is None else (x, kernel, bias)
    module = module_for(*arrays) if out is None else module_for(*arrays, out)
    if out is None:
        _require_4d(x, "x")
        _require_4d(kernel, "kernel")
        oh, ow = _pair(output_size, "output_size")
        out = array_namespace(x).empty((x.shape[0], oh, ow, kernel.shape[2] * int(groups)),
                                       dtype=x.dtype)
    module.conv2d_transpose_forward(x, kernel, bias, out, _pair(strides, "strides"),
                                    _flat_padding(padding), _pair(dilation, "dilation"),
                                    int(groups), activation)
    return out


def conv2d_transpose_backward(x, kernel, out, grad_out, strides, padding, dilation, groups,
                              activation, *, has_bias, need_dx):
    """Gradients of :func:`conv2d_transpose_forward` from its output ``out`` and ``grad_out``:
    delta on out's shape (with the bias gradient), the kernel gradient and, only if
    ``need_dx``, the input gradient (the convolution of delta). Returns ``(dx or None,
    dkernel, dbias or None)``."""
    module = module_for(x, kernel, out, grad_out)
    _require_4d(x, "x")
    _require_4d(kernel, "kernel")
    xp = array_namespace(x)
    dx = xp.empty(x.shape, dtype=x.dtype) if need_dx else None
    dkernel = xp.empty(kernel.shape, dtype=x.dtype)
    dbias = xp.empty(kernel.shape[2] * int(groups), dtype=x.dtype) if has_bias else None
    module.conv2d_transpose_backward(x, kernel, out, grad_out, _pair(strides, "strides"),
                                     _flat_padding(padding), _pair(dilation, "dilation"),
                                     int(groups), activation, dx, dkernel, dbias)
    return dx, dkernel, dbias


def conv2d_algorithms(x, kernel, strides, padding, dilation, groups):
    """The algorithm each pass of this convolution runs, chosen per shape (and, on the CPU, at
    the active SIMD level): ``{"forward": ..., "filter": ..., "data": ...}`` with values
    'gemm' (one BLAS GEMM), 'depthwise', 'direct' (AVX-512 loops), 'single_channel' (AVX-512
    loops for one input channel and at most 8 filters), 'scatter' (AVX-512 data gradients with
    fewer than 8 input channels) or 'im2col' (+ BLAS).
    "data" is the data gradient, which is also the forward pass of a transposed convolution
    (whose gradients are "forward" and "filter")."""
    return module_for(x, kernel).conv2d_algorithms(x, kernel, _pair(strides, "strides"),
                                                   _flat_padding(padding),
                                                   _pair(dilation, "dilation"), int(groups))
