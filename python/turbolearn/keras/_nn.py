"""The fused ops layers and losses are built on: one kernel call per direction.

``dense`` is matmul + bias + activation forward and the whole backward in one op family call
each; ``softmax_xent`` is softmax with cross-entropy from logits; ``conv`` and
``conv_transpose`` are 1-D and 2-D (transposed) convolutions with the bias and the activation
fused (the conv2d family). Each records one Node.
"""
import numpy as np

from .._ops import conv2d as _conv2d
from .._ops.dense import FUSED_ACTIVATIONS, dense_backward, dense_forward
from .._ops.softmax_xent import softmax_xent_backward, softmax_xent_forward
from . import ops
from ._tensor import floatx, record, value_of


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


def _as_array(v, dtype=None):
    v = value_of(v)
    if isinstance(v, np.ndarray) or hasattr(v, "__cuda_array_interface__"):
        return v
    return np.asarray(v, dtype=dtype or floatx())


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
    kv = _as_array(kernel)
    xv = _contiguous(_as_array(x, kv.dtype), kv.dtype)
    if xv.ndim not in (3, 4) or kv.ndim != xv.ndim:
        raise ValueError(f"conv: expected inputs of rank 3 or 4 and a kernel of the same rank, "
                         f"got shapes {xv.shape} and {kv.shape}")
    if depthwise:
        groups = kv.shape[-2]
        kv = kv.reshape(kv.shape[:-2] + (1, kv.shape[-2] * kv.shape[-1]))
    x4, k4, s2, p2, d2 = _as_2d(xv, kv, strides, padding, dilation)
    b = None if bias is None else _as_array(bias)
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
    kv = _as_array(kernel)
    xv = _contiguous(_as_array(x, kv.dtype), kv.dtype)
    if xv.ndim not in (3, 4) or kv.ndim != xv.ndim:
        raise ValueError(f"conv_transpose: expected inputs of rank 3 or 4 and a kernel of the "
                         f"same rank, got shapes {xv.shape} and {kv.shape}")
    x4, k4, s2, p2, d2 = _as_2d(xv, kv, strides, padding, dilation)
    size2 = tuple(output_size) if xv.ndim == 4 else (1, output_size[0])
    b = None if bias is None else _as_array(bias)
    y4 = _conv2d.conv2d_transpose_forward(x4, k4, b, size2, s2, p2, d2, 1, activation)
    out_shape = y4.shape if xv.ndim == 4 else (y4.shape[0],) + y4.shape[2:]

    def backward(g, needs):
        g4 = _contiguous(g, kv.dtype).reshape(y4.shape)
        dx, dk, db = _conv2d.conv2d_transpose_backward(x4, k4, y4, g4, s2, p2, d2, 1, activation,
                                                       has_bias=b is not None, need_dx=needs[0])
        return (None if dx is None else dx.reshape(xv.shape), dk.reshape(kv.shape), db)
    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(y4.reshape(out_shape), parents, backward)


# --- Keras' convolution arguments, shared by keras.ops and the convolution layers ----------

def standardize_tuple(value, n, name, allow_zero=False):
    """An int or n ints -> a tuple of n ints, with Keras' ValueError otherwise."""
    error = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(error) from None
        if len(values) != n:
            raise ValueError(error)
        for v in values:
            try:
                int(v)
            except (ValueError, TypeError):
                raise ValueError(f"{error}including element {v} of type {type(v)}") from None
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{error}, including values {bad} that do not satisfy "
                         f"`value {'>= 0' if allow_zero else '> 0'}`")
    return values


def standardize_padding(value, allow_causal=False):
    """'valid' / 'same' (/ 'causal' for 1-D), any case -> lower case, Keras' error otherwise."""
    allowed = {"valid", "same", "causal"} if allow_causal else {"valid", "same"}
    padding = str(value).lower()
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be a list/tuple or one of {allowed}. "
                         f"Received: {padding}")
    return padding


def standardize_data_format(data_format):
    """None -> 'channels_last' (Keras' default image_data_format)."""
    if data_format is None:
        return "channels_last"
    data_format = str(data_format).lower()
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    return data_format


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


__all__ = ["FUSED_ACTIVATIONS", "conv", "conv_paddings", "conv_transpose",
           "conv_transpose_paddings", "convolution", "convolution_transpose", "dense",
           "softmax_xent", "standardize_data_format", "standardize_padding", "standardize_tuple",
           "to_channels_first", "to_channels_last"]
