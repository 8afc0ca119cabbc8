"""``conv`` and ``conv_transpose``: 1-D and 2-D (transposed) convolutions with the bias and
the activation fused, one conv2d kernel call per direction; ``convolution`` and
``convolution_transpose`` resolve Keras' arguments for the layers and keras.ops."""
import numpy as np

from ..._ops import conv2d as _conv2d
from .. import ops
from .._tensor import record, value_of
from .common import (_contiguous, standardize_data_format, standardize_padding,
                     standardize_tuple)


def _as_2d(xv, kv, strides, padding, dilation):
    """A 1-D convolution as a 1 x W one: (n, steps, c) -> (n, 1, steps, c), kernel (k, c, f)
    -> (1, k, c, f); 2-D arguments pass through."""
    if xv.ndim == 3:
        return (xv.reshape(xv.shape[0], 1, *xv.shape[1:]), kv.reshape(1, *kv.shape),
                (1, strides[0]), ((0, 0), tuple(padding[0])), (1, dilation[0]))
    return xv, kv, tuple(strides), tuple(map(tuple, padding)), tuple(dilation)


def conv(x, kernel, bias, strides, padding, dilation, groups=1, activation="linear",
         depthwise=False):
    """``activation(conv(x, kernel) + bias)`` for channels_last x of rank 3 (1-D: (n, steps, c),
    kernel (k, c // groups, f)) or 4 (2-D: (n, h, w, c), kernel (kh, kw, c // groups, f)).
    ``strides`` and ``dilation`` have one entry per spatial axis, ``padding`` one (before,
    after) pair. ``depthwise``: the kernel is Keras' depthwise layout (..., c, multiplier),
    the grouped kernel (..., 1, c * multiplier) with groups = c. softmax and sigmoid outputs
    keep their logits (``_keras_logits``), as dense does."""
    if activation in ("softmax", "sigmoid"):
        logits = conv(x, kernel, bias, strides, padding, dilation, groups, "linear", depthwise)
        return ops.softmax(logits) if activation == "softmax" else ops.sigmoid(logits)
    kv = ops._array(kernel)
    xv = _contiguous(ops._array(x, kv.dtype), kv.dtype)
    if xv.ndim not in (3, 4) or kv.ndim != xv.ndim:
        raise ValueError(f"conv: expected inputs of rank 3 or 4 and a kernel of the same rank, "
                         f"got shapes {xv.shape} and {kv.shape}")
    if depthwise:
        groups = kv.shape[-2]
        kv = kv.reshape(kv.shape[:-2] + (1, kv.shape[-2] * kv.shape[-1]))
    x4, k4, s2, p2, d2 = _as_2d(xv, kv, strides, padding, dilation)
    b = None if bias is None else ops._array(bias)
    y4 = _conv2d.conv2d_forward(x4, k4, b, s2, p2, d2, groups, activation)
    out_shape = y4.shape if xv.ndim == 4 else (y4.shape[0],) + y4.shape[2:]

    def backward(g, needs):
        g4 = _contiguous(g, kv.dtype).reshape(y4.shape)
        dx, dk, db = _conv2d.conv2d_backward(x4, k4, y4, g4, s2, p2, d2, groups, activation,
                                             has_bias=b is not None, need_dx=needs[0])
        return (None if dx is None else dx.reshape(xv.shape), dk.reshape(value_of(kernel).shape),
                db)
    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(y4.reshape(out_shape), parents, backward)


def conv_transpose(x, kernel, bias, output_size, strides, padding, dilation,
                   activation="linear"):
    """``activation(conv_transpose(x, kernel) + bias)`` for channels_last x of rank 3 or 4,
    kernel in Keras' layout (..., filters, input channels), into the spatial ``output_size``.
    ``strides``, ``padding`` (explicit) and ``dilation`` are those of the convolution it
    transposes (``_ops.conv_transpose_padding``)."""
    if activation in ("softmax", "sigmoid"):
        logits = conv_transpose(x, kernel, bias, output_size, strides, padding, dilation)
        return ops.softmax(logits) if activation == "softmax" else ops.sigmoid(logits)
    kv = ops._array(kernel)
    xv = _contiguous(ops._array(x, kv.dtype), kv.dtype)
    if xv.ndim not in (3, 4) or kv.ndim != xv.ndim:
        raise ValueError(f"conv_transpose: expected inputs of rank 3 or 4 and a kernel of the "
                         f"same rank, got shapes {xv.shape} and {kv.shape}")
    x4, k4, s2, p2, d2 = _as_2d(xv, kv, strides, padding, dilation)
    size2 = tuple(output_size) if xv.ndim == 4 else (1, output_size[0])
    b = None if bias is None else ops._array(bias)
    y4 = _conv2d.conv2d_transpose_forward(x4, k4, b, size2, s2, p2, d2, 1, activation)
    out_shape = y4.shape if xv.ndim == 4 else (y4.shape[0],) + y4.shape[2:]

    def backward(g, needs):
        g4 = _contiguous(g, kv.dtype).reshape(y4.shape)
        dx, dk, db = _conv2d.conv2d_transpose_backward(x4, k4, y4, g4, s2, p2, d2, 1, activation,
                                                       has_bias=b is not None, need_dx=needs[0])
        return (None if dx is None else dx.reshape(xv.shape), dk.reshape(kv.shape), db)
    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(y4.reshape(out_shape), parents, backward)


def conv_paddings(spatial_shape, kernel_size, strides, dilation, padding):
    """Explicit (before, after) pairs per spatial axis for Keras' padding string."""
    return tuple(_conv2d.conv_padding(n, k, s, d, padding)
                 for n, k, s, d in zip(spatial_shape, kernel_size, strides, dilation))


def conv_transpose_paddings(spatial_shape, kernel_size, strides, dilation, padding,
                            output_padding):
    """(output spatial shape, explicit paddings of the convolution transposed) of Keras'
    conv_transpose; output_padding None or one entry per axis."""
    pads = output_padding or (None,) * len(spatial_shape)
    axes = [_conv2d.conv_transpose_padding(n, k, s, d, padding, p)
            for n, k, s, d, p in zip(spatial_shape, kernel_size, strides, dilation, pads)]
    return tuple(a[0] for a in axes), tuple(a[1] for a in axes)


def to_channels_last(x, data_format):
    """channels_first (n, c, ...) -> channels_last (n, ..., c), a recorded transpose."""
    if data_format == "channels_last":
        return x
    return ops.transpose(x, (0,) + tuple(range(2, np.ndim(value_of(x)))) + (1,))


def to_channels_first(y, data_format):
    """The inverse of to_channels_last."""
    if data_format == "channels_last":
        return y
    rank = len(y.shape)
    return ops.transpose(y, (0, rank - 1) + tuple(range(1, rank - 1)))


def convolution(inputs, kernel, bias, strides, padding, data_format, dilation_rate,
                activation="linear", depthwise=False):
    """keras.ops.conv / depthwise_conv with the bias and activation fused: Keras' arguments
    (ints or tuples, padding 'valid' / 'same' / 'causal', data_format) resolved, then one
    ``conv`` op (channels_first inputs are transposed around it)."""
    data_format = standardize_data_format(data_format)
    x = to_channels_last(inputs, data_format)
    shape = np.shape(value_of(x))
    rank = len(shape) - 2
    if rank not in (1, 2):
        raise ValueError("turbolearn.keras convolutions are 1-D or 2-D (inputs of rank 3 or "
                         f"4), got inputs of shape {tuple(shape)}")
    kshape = np.shape(value_of(kernel))
    if len(kshape) != rank + 2:
        raise ValueError(f"Kernel shape must have the same length as input, but received "
                         f"kernel of shape {tuple(kshape)} and input of shape {tuple(shape)}.")
    strides = standardize_tuple(strides, rank, "strides")
    dilation = standardize_tuple(dilation_rate, rank, "dilation_rate")
    padding = standardize_padding(padding, allow_causal=rank == 1)
    channels, kernel_channels = shape[-1], kshape[-2]
    groups = 1
    if not depthwise:
        if channels % kernel_channels:
            raise ValueError(f"The number of input channels must be evenly divisible by "
                             f"kernel.shape[-2]. Received: inputs.shape={tuple(shape)}, "
                             f"kernel.shape={tuple(kshape)}")
        groups = channels // kernel_channels
    elif channels != kernel_channels:
        raise ValueError(f"The number of input channels must match kernel.shape[-2]. "
                         f"Received: inputs.shape={tuple(shape)}, kernel.shape={tuple(kshape)}")
    pads = conv_paddings(shape[1:-1], kshape[:rank], strides, dilation, padding)
    y = conv(x, kernel, bias, strides, pads, dilation, groups, activation, depthwise)
    return to_channels_first(y, data_format)


def convolution_transpose(inputs, kernel, bias, strides, padding, output_padding, data_format,
                          dilation_rate, activation="linear"):
    """keras.ops.conv_transpose with the bias and activation fused (Keras' arguments
    resolved, one ``conv_transpose`` op)."""
    data_format = standardize_data_format(data_format)
    x = to_channels_last(inputs, data_format)
    shape = np.shape(value_of(x))
    rank = len(shape) - 2
    if rank not in (1, 2):
        raise ValueError("turbolearn.keras transposed convolutions are 1-D or 2-D (inputs of "
                         f"rank 3 or 4), got inputs of shape {tuple(shape)}")
    kshape = np.shape(value_of(kernel))
    if len(kshape) != rank + 2 or kshape[-1] != shape[-1]:
        raise ValueError(f"The number of input channels must match kernel.shape[-1]. "
                         f"Received: inputs.shape={tuple(shape)}, kernel.shape={tuple(kshape)}")
    strides = standardize_tuple(strides, rank, "strides")
    dilation = standardize_tuple(dilation_rate, rank, "dilation_rate")
    if output_padding is not None:
        output_padding = standardize_tuple(output_padding, rank, "output_padding",
                                           allow_zero=True)
    padding = standardize_padding(padding)
    size, pads = conv_transpose_paddings(shape[1:-1], kshape[:rank], strides, dilation, padding,
                                         output_padding)
    y = conv_transpose(x, kernel, bias, size, strides, pads, dilation, activation)
    return to_channels_first(y, data_format)
