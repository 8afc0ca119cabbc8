"""The rnn op family: a whole sequence of a built-in recurrent cell in one call per direction.

``cell`` is ``"simple_rnn"``, ``"lstm"`` or ``"gru"`` (``reset_after`` picks the GRU
variant). Arrays follow Keras 3: ``x`` (n, t, d) batch-major, ``kernel`` (d, G*h),
``recurrent_kernel`` (h, G*h), ``bias`` (G*h,) or, for a GRU with ``reset_after``,
(2, G*h) (input and recurrent bias), gate order LSTM i, f, c, o and GRU z, r, h (G = 4, 3,
1 for SimpleRNN). ``mask`` (n, t) bool: masked steps keep the state, and their output is
the previous output (zeros before the first used step), or zeros with
``zero_output_for_mask``, as Keras' ``rnn()``. ``go_backwards`` walks the steps from the last
and returns the outputs in that order. ``dropout_mask`` is (n, d) (one mask for every gate)
or (G, n, d) (one per gate, Keras' implementation 1); ``recurrent_dropout_mask`` (n, h) or
(G, n, h); both are fixed across the time steps, as Keras applies them.

The forward pass returns a ``workspace`` (n, t, width): the gate activations and the
states before each step, all the backward pass needs. Arrays are float32 or float64,
C-contiguous, all NumPy (CPU kernels) or all CuPy (CUDA kernels).
"""
from ._backend import array_namespace, module_for

CELLS = ("simple_rnn", "lstm", "gru")
RNN_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "hard_sigmoid")


def _gates(cell):
    return {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]


def _check_cell(cell, x, recurrent_kernel):
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    if getattr(x, "ndim", None) != 3:
        raise ValueError(f"x must be a 3-D array (batch, time steps, features), got shape "
                         f"{getattr(x, 'shape', None)}")
    if getattr(recurrent_kernel, "ndim", None) != 2:
        raise ValueError("recurrent_kernel must be a 2-D array (units, gates * units), got "
                         f"shape {getattr(recurrent_kernel, 'shape', None)}")


def _arrays(*arrays):
    return [a for a in arrays if a is not None]


def rnn_forward(cell, x, kernel, recurrent_kernel, bias=None, *, h0=None, c0=None, mask=None,
                dropout_mask=None, recurrent_dropout_mask=None, activation="tanh",
                recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                return_sequences=True, zero_output_for_mask=False, out=None):
    """Runs the whole sequence. Returns ``(outputs, h, c, workspace)``: outputs (n, t, h)
    with ``return_sequences``, else the last output (n, h); the final state h (n, h), the
    final carry c (n, h) for an LSTM (None otherwise), and the workspace for
    :func:`rnn_backward`. ``h0``/``c0`` (n, h) default to zeros. ``out``: the arrays to write
    ``(outputs, h, c)`` into (allocated when None)."""
    module = module_for(*_arrays(x, kernel, recurrent_kernel, bias, h0, c0, mask, dropout_mask,
                                 recurrent_dropout_mask, *(out or ())))
    _check_cell(cell, x, recurrent_kernel)
    xp = array_namespace(x)
    n, t, _ = x.shape
    h = recurrent_kernel.shape[0]
    if out is None:
        outputs = xp.empty((n, t, h) if return_sequences else (n, h), dtype=x.dtype)
        h_out = xp.empty((n, h), dtype=x.dtype)
        c_out = xp.empty((n, h), dtype=x.dtype) if cell == "lstm" else None
    else:
        outputs, h_out, c_out = out
    width = module.rnn_workspace_width(cell, h, reset_after)
    workspace = xp.empty((n, t, width), dtype=x.dtype)
    module.rnn_forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask, dropout_mask,
                       recurrent_dropout_mask, outputs, h_out, c_out, workspace, activation,
                       recurrent_activation, reset_after, go_backwards, return_sequences,
                       zero_output_for_mask)
    return outputs, h_out, c_out, workspace


def rnn_backward(cell, x, kernel, recurrent_kernel, workspace, d_outputs=None, d_h=None,
                 d_c=None, *, has_bias=True, need_dx=True, need_initial_state=True, mask=None,
                 dropout_mask=None, recurrent_dropout_mask=None, activation="tanh",
                 recurrent_activation="sigmoid", reset_after=True, go_backwards=False,
                 return_sequences=True, zero_output_for_mask=False):
    """Backward through time of :func:`rnn_forward` (called with the same options) from the
    gradients of its outputs, final state and final carry (None: zero). Weight gradients
    are accumulated over every step in one GEMM each. Returns ``(dx, dkernel,
    drecurrent_kernel, dbias, dh0, dc0)``; dx is None unless ``need_dx``, dbias unless
    ``has_bias``, dh0 and dc0 unless ``need_initial_state`` (dc0 also for other cells)."""
    module = module_for(*_arrays(x, kernel, recurrent_kernel, workspace, d_outputs, d_h, d_c,
                                 mask, dropout_mask, recurrent_dropout_mask))
    _check_cell(cell, x, recurrent_kernel)
    xp = array_namespace(x)
    n, _, _ = x.shape
    h = recurrent_kernel.shape[0]
    gh = _gates(cell) * h
    dx = xp.empty(x.shape, dtype=x.dtype) if need_dx else None
    dkernel = xp.empty(kernel.shape, dtype=x.dtype)
    drecurrent = xp.empty(recurrent_kernel.shape, dtype=x.dtype)
    bias_shape = (2, gh) if cell == "gru" and reset_after else (gh,)
    dbias = xp.empty(bias_shape, dtype=x.dtype) if has_bias else None
    dh0 = xp.empty((n, h), dtype=x.dtype) if need_initial_state else None
    dc0 = xp.empty((n, h), dtype=x.dtype) if need_initial_state and cell == "lstm" else None
    module.rnn_backward(cell, x, kernel, recurrent_kernel, workspace, mask, dropout_mask,
                        recurrent_dropout_mask, d_outputs, d_h, d_c, dx, dkernel, drecurrent,
                        dbias, dh0, dc0, activation, recurrent_activation, reset_after,
                        go_backwards, return_sequences, zero_output_for_mask)
    return dx, dkernel, drecurrent, dbias, dh0, dc0
