"""The generic recurrent loop: a step function run over the time axis, recorded as one op.

``rnn_loop`` is Keras' ``backend.rnn`` (same arguments, masking and results). Each time step
runs as ordinary recorded keras ops on a tape of the loop's own, whose leaves are the step
inputs and the initial states; the whole loop is then one op on the caller's tape, whose
backward is backpropagation through time over that inner graph. This keeps the cost of a
step at the cost of its own ops: slicing the sequence per step on the caller's tape would
make every step's backward write a gradient the size of the whole sequence.
"""
import contextlib
import gc
import itertools
import math

from ... import ops
from ...._ops._backend import array_namespace
from ..._tensor import (GradientTape, Tensor, Variable, _active_tapes, _flatten, _node_seq,
                        _pack_like, _recorded, backpropagate, record, value_of)

__all__ = ["rnn_loop"]


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


@contextlib.contextmanager
def _collector_paused():
    """Pauses Python's cyclic garbage collector. A loop allocates thousands of small objects
    (tensors, nodes, closures) that reference counting frees; left on, the collector's passes
    over the live graph cost as much as the steps (measured: twice the time of an LSTM
    step). Collection is only deferred: it resumes, with these objects counted, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _masked(keep, new, old):
    """``new`` where the time step is kept (keep: (batch,) booleans), else ``old`` (zeros
    when None)."""
    shape = keep.shape + (1,) * (len(new.shape) - 1)
    return ops.where(keep.reshape(shape), new, 0.0 if old is None else old)


def rnn_loop(step_function, inputs, initial_states, go_backwards=False, mask=None,
             zero_output_for_mask=False, return_all_outputs=True):
    """Runs ``step_function(inputs_t, states) -> (output, new_states)`` over the time axis of
    ``inputs`` (batch, time, ...), from ``initial_states`` (a list, possibly nested).

    ``go_backwards`` walks the time axis from the end; the outputs are in walking order.
    ``mask`` (batch, time) booleans: at a masked step the states keep their values and the
    output repeats the previous one (zeros with ``zero_output_for_mask``). Returns
    ``(last_output, outputs, new_states)``: ``outputs`` is (batch, time, ...) with
    ``return_all_outputs``, else (batch, 1, ...), and ``new_states`` has the structure of
    ``initial_states``. The step function may read its inputs, its states and Variables
    (cell weights): a recorded tensor computed before the loop would need its gradient
    outside the loop's op, and is refused.
    """
    xv = value_of(inputs)
    xp = array_namespace(xv)
    steps = xp.ascontiguousarray(xp.moveaxis(xv, 1, 0))  # time-major: each step contiguous
    keep = None if mask is None else xp.asarray(value_of(mask)).astype(bool)
    flat_initial = _flatten(initial_states)
    recording = bool(_active_tapes())
    tape = GradientTape() if recording else contextlib.nullcontext()
    start = next(_node_seq)  # ops numbered below this belong to the caller's graph
    with _collector_paused(), tape:
        step_inputs = [Tensor(x) for x in steps]
        state_leaves = [Tensor(value_of(s)) for s in flat_initial]
        if recording:
            tape.watch(step_inputs + state_leaves)
        flat_states, output, outputs = state_leaves, None, []
        order = range(len(steps) - 1, -1, -1) if go_backwards else range(len(steps))
        for t in order:
            output_t, new_states = step_function(
                step_inputs[t], _pack_like(initial_states, iter(flat_states)))
            flat_new = _flatten(_as_list(new_states))
            if len(flat_new) != len(flat_states):
                raise ValueError(f"The RNN cell returned {len(flat_new)} state tensors, but "
                                 f"its state_size describes {len(flat_states)}")
            if keep is not None:
                k = keep[:, t]
                output_t = _masked(k, output_t, None if zero_output_for_mask else output)
                flat_new = [_masked(k, new, old) for new, old in zip(flat_new, flat_states)]
            flat_states, output = flat_new, output_t
            if return_all_outputs:
                outputs.append(output)
        sequence = ops.stack(outputs, axis=1) if return_all_outputs else \
            ops.expand_dims(output, 1)
    results = [output, sequence] + list(flat_states)
    if recording:
        results = _as_one_op(results, inputs, flat_initial, step_inputs, state_leaves, start)
    return results[0], results[1], _pack_like(initial_states, iter(results[2:]))


def _variables_read(results, start):
    """The Variables the recorded steps read; refuses tensors recorded before the loop."""
    variables, seen = [], set()
    for x in _recorded(results):
        if x._node.seq < start:
            raise ValueError("The RNN step function read a tensor computed with a gradient "
                             "before the loop (a cell's call may read only its inputs, its "
                             "states and Variables such as its weights)")
        for p in x._node.parents:
            if isinstance(p, Variable) and id(p) not in seen:
                seen.add(id(p))
                variables.append(p)
    return variables


def _as_one_op(results, inputs, flat_initial, step_inputs, state_leaves, start):
    """The loop's results as one op of (inputs, initial states, the weights the steps read)
    on the caller's tape; its backward backpropagates through the recorded steps."""
    variables = _variables_read(results, start)
    values = [value_of(r) for r in results]
    xp = array_namespace(values[0])
    batch = values[0].shape[0]
    widths = [math.prod(v.shape[1:]) for v in values]
    cuts = list(itertools.accumulate(widths))[:-1]
    packed = xp.concatenate([v.reshape(batch, w) for v, w in zip(values, widths)], axis=1)
    n_states = len(state_leaves)

    def backward(g, needs):
        seeds = [piece.reshape(v.shape) for piece, v in zip(xp.split(g, cuts, axis=1), values)]
        state_needs = needs[1:1 + n_states]
        var_needs = needs[1 + n_states:]
        sources = ((step_inputs if needs[0] else []) +
                   [s for s, n in zip(state_leaves, state_needs) if n] +
                   [v for v, n in zip(variables, var_needs) if n])
        with _collector_paused():
            grads = backpropagate(results, seeds, sources)
        dx = None
        if needs[0]:
            zero = None
            parts = []
            for x in step_inputs:
                gx = grads.get(id(x))
                if gx is None:
                    zero = xp.zeros_like(x.value) if zero is None else zero
                    gx = zero
                parts.append(gx)
            dx = xp.moveaxis(xp.stack(parts), 0, 1)
        return ((dx,) + tuple(grads.get(id(s)) if n else None
                              for s, n in zip(state_leaves, state_needs)) +
                tuple(grads.get(id(v)) if n else None for v, n in zip(variables, var_needs)))

    out = record(packed, (inputs,) + tuple(flat_initial) + tuple(variables), backward)
    pieces = ops.split(out, cuts, axis=1) if cuts else [out]
    return [ops.reshape(p, v.shape) for p, v in zip(pieces, values)]
