"""``rnn_sequence``: a whole sequence of a built-in recurrent cell (SimpleRNN, LSTM, GRU) in
one rnn kernel call per direction."""
import math

from ..._ops._backend import array_namespace
from ..._ops.rnn import RNN_ACTIVATIONS, rnn_backward, rnn_forward
from .._tensor import record, value_of
from .common import _contiguous


_RNN_ACTIVATION_NAMES = {}  # keras.activations function or name -> the kernels' name


def rnn_activation(activation):
    """The rnn kernels' name for an activation they fuse: a name of RNN_ACTIVATIONS, None
    (linear) or that built-in function of keras.activations; None for anything else (the
    layer then runs its per-step path). The layers ask at every call: one dict lookup."""
    if not _RNN_ACTIVATION_NAMES:
        from .. import activations
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
