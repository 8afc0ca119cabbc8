"""The fused ops layers and losses are built on: one kernel call per direction.

``dense`` is matmul + bias + activation forward and the whole backward in one op family call
each; ``softmax_xent`` is softmax with cross-entropy from logits; ``pool`` and ``global_pool``
are max / average pooling (1-D and 2-D, either data format) on the pool2d kernels;
``rnn_sequence`` a whole sequence of a built-in recurrent cell. Each records one Node.
"""
import math

import numpy as np

from .._ops._backend import array_namespace
from .._ops.dense import FUSED_ACTIVATIONS, dense_backward, dense_forward
from .._ops.pool2d import pool2d_backward, pool2d_forward, pool2d_paddings
from .._ops.rnn import RNN_ACTIVATIONS, rnn_backward, rnn_forward
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


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or n ints as a tuple of n ints, checked as Keras' argument validation does
    (positive, or non-negative with ``allow_zero``), with its error messages."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n:
            raise ValueError(message)
        for v in values:
            try:
                int(v)
            except (ValueError, TypeError):
                raise ValueError(f"{message}including element {v} of type {type(v)}") from None
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{message}, including values {bad} that do not satisfy "
                         f"`value {'>= 0' if allow_zero else '> 0'}`")
    return tuple(int(v) for v in values)


def standardize_data_format(data_format):
    """'channels_last' (the default: turbolearn has no keras.json) or 'channels_first'."""
    if data_format is None:
        return "channels_last"
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    return data_format


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


__all__ = ["FUSED_ACTIVATIONS", "dense", "global_pool", "pool", "softmax_xent",
           "standardize_data_format", "standardize_tuple"]
_RNN_ACTIVATION_NAMES = {}  # keras.activations function or name -> the kernels' name


def rnn_activation(activation):
    """The rnn kernels' name for an activation they fuse: a name of RNN_ACTIVATIONS, None
    (linear) or that built-in function of keras.activations; None for anything else (the
    layer then runs its per-step path). The layers ask at every call: one dict lookup."""
    if not _RNN_ACTIVATION_NAMES:
        from . import activations
        _RNN_ACTIVATION_NAMES.update({name: name for name in RNN_ACTIVATIONS})
        _RNN_ACTIVATION_NAMES.update({activations.get(name): name for name in RNN_ACTIVATIONS})
        _RNN_ACTIVATION_NAMES[None] = "linear"
    try:
        return _RNN_ACTIVATION_NAMES.get(activation)
    except TypeError:  # an unhashable callable
        return None


def _mask_array(mask, dtype):
    """A dropout mask as one C-contiguous array: Keras' per-gate lists are stacked (G, n, w)."""
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):
        parts = [value_of(m) for m in mask]
        return array_namespace(parts[0]).stack(parts).astype(dtype, copy=False)
    return _contiguous(value_of(mask), dtype)


def _part(packed, start, shape):
    """A view of part of a packed op output, recorded so its gradient reaches the op."""
    size = math.prod(shape)
    whole = packed.value

    def backward(g, needs):
        full = array_namespace(g).zeros(whole.shape, dtype=whole.dtype)
        full[start:start + size] = g.reshape(-1)
        return (full,)
    return record(whole[start:start + size].reshape(shape), (packed,), backward)


def rnn_sequence(cell, inputs, kernel, recurrent_kernel, bias=None, initial_state=None, *,
                 activation="tanh", recurrent_activation="sigmoid", mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 dropout_mask=None, recurrent_dropout_mask=None, reset_after=True):
    """A whole sequence of a built-in cell as one recorded op: the layers' fast path.

    ``cell``: "simple_rnn", "lstm" or "gru" (``reset_after`` picks the GRU variant). The
    arguments are the Keras layer's own: ``inputs`` (n, t, d); ``kernel``, ``recurrent_kernel``
    and ``bias`` (or None) the cell's Variables in Keras' layout and gate order;
    ``initial_state`` None (zeros), a tensor (SimpleRNN, GRU) or ``[h, c]`` (LSTM);
    ``activation``/``recurrent_activation`` names or functions accepted by
    :func:`rnn_activation`; ``mask`` (n, t) bool; ``dropout_mask`` (n, d) or Keras' list of
    one (n, d) mask per gate, ``recurrent_dropout_mask`` (n, units) or such a list, applied at
    every step as the cells apply them (the layer passes them only when training). Masked
    steps and ``go_backwards`` follow Keras' ``backend.rnn`` with ``zero_output_for_mask``.

    Returns ``(output, states)``: output (n, t, units) with ``return_sequences`` else the last
    output (n, units), and the list of final states ([h] or [h, c]). Gradients reach the
    inputs, the weights and the initial states.
    """
    act, rec_act = rnn_activation(activation), rnn_activation(recurrent_activation)
    if act is None or rec_act is None:
        raise ValueError("rnn_sequence fuses only the activations "
                         f"{RNN_ACTIVATIONS}; got {activation!r}, {recurrent_activation!r}")
    k = value_of(kernel)
    dtype = k.dtype
    xv = _contiguous(value_of(inputs), dtype)
    u = _contiguous(value_of(recurrent_kernel), dtype)
    b = None if bias is None else _contiguous(value_of(bias), dtype)
    if initial_state is None:
        states = [None, None]
    else:
        nested = isinstance(initial_state, (list, tuple))
        states = list(initial_state) if nested else [initial_state]
        states += [None] * (2 - len(states))
    h0, c0 = (None if s is None else _contiguous(value_of(s), dtype) for s in states)
    m = None if mask is None else _contiguous(value_of(mask), bool)
    options = dict(mask=m, dropout_mask=_mask_array(dropout_mask, dtype),
                   recurrent_dropout_mask=_mask_array(recurrent_dropout_mask, dtype),
                   activation=act, recurrent_activation=rec_act, reset_after=reset_after,
                   go_backwards=go_backwards, return_sequences=return_sequences,
                   zero_output_for_mask=zero_output_for_mask)
    n, t, _ = xv.shape
    units = u.shape[0]
    out_shape = (n, t, units) if return_sequences else (n, units)
    size, state_size = math.prod(out_shape), n * units
    n_states = 2 if cell == "lstm" else 1
    # One array holds the outputs and the final states, so one Node serves them all.
    packed = array_namespace(xv).empty(size + n_states * state_size, dtype=dtype)
    views = (packed[:size].reshape(out_shape), packed[size:size + state_size].reshape(n, units),
             packed[size + state_size:].reshape(n, units) if n_states == 2 else None)
    _, _, _, workspace = rnn_forward(cell, xv, k, u, b, h0=h0, c0=c0, out=views, **options)

    def backward(g, needs):
        g = _contiguous(g, dtype)
        d_c = g[size + state_size:].reshape(n, units) if n_states == 2 else None
        dx, dk, du, db, dh0, dc0 = rnn_backward(
            cell, xv, k, u, workspace, g[:size].reshape(out_shape),
            g[size:size + state_size].reshape(n, units), d_c, has_bias=b is not None,
            need_dx=needs[0], need_initial_state=needs[4] or needs[5], **options)
        return dx, dk, du, db, dh0, dc0
    node = record(packed, (inputs, kernel, recurrent_kernel, bias, states[0], states[1]), backward)
    output = _part(node, 0, out_shape)
    final = [_part(node, size + i * state_size, (n, units)) for i in range(n_states)]
    return output, final


__all__ = ["FUSED_ACTIVATIONS", "RNN_ACTIVATIONS", "dense", "rnn_activation", "rnn_sequence",
           "softmax_xent"]
