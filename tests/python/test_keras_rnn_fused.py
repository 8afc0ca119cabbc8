"""keras._nn.rnn_sequence, the recorded op the recurrent layers call, against Keras 3's own
SimpleRNN / LSTM / GRU layers (torch backend, float64) holding the same weights: outputs,
final states, and on the tape the gradients of the inputs, every weight and the initial
states, for masks (an all-masked row, masked first and last steps), zero_output_for_mask,
go_backwards, return_sequences, initial states, dropout masks (Keras' own mask caches are
set to ours, in training mode: one mask, or one per gate in implementation 1) and other
activations. This also checks rnn_reference.py's loop (the kernel tests' reference) against
Keras itself, on the same cases.

Keras 3.15's torch backend computes a float64 layer's matmuls in float32
(``dtypes.result_type(torch.float64, torch.float64)`` is float32 there), so the comparisons
with Keras hold to 1e-5 (relative, with an absolute term of the same size times the largest
reference value) in either dtype; in float64 the op is also checked against the reference
loop at 1e-10, gradients included.
"""
import os

import numpy as np
import pytest

from turbolearn.keras import GradientTape, Variable, ops
from turbolearn.keras import activations as tl_activations
from turbolearn.keras._nn import rnn_activation, rnn_sequence

from rnn_reference import GATES, keras_rnn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

KERAS_RTOL = 1e-5
RTOL_FLOAT64 = 1e-10
VARIANTS = [("simple_rnn", True), ("lstm", True), ("gru", True), ("gru", False)]
VARIANT_IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before"]
N, T, D, H = 5, 6, 3, 7


def _mask(rng):
    mask = rng.random((N, T)) > 0.35
    mask[0] = False
    mask[1, : T // 2 + 1] = False
    mask[2, -1] = False
    return mask


CASES = {
    "plain": {},
    "last_output": {"return_sequences": False},
    "mask": {"mask": True},
    "mask_last_output": {"mask": True, "return_sequences": False},
    "mask_zero_output": {"mask": True, "zero_output_for_mask": True},
    "mask_backwards": {"mask": True, "go_backwards": True},
    "mask_backwards_last_zero": {"mask": True, "go_backwards": True, "return_sequences": False,
                                 "zero_output_for_mask": True},
    "initial_state": {"initial_state": True},
    "dropout": {"dropout": 0.3},
    "dropout_both": {"dropout": 0.3, "recurrent_dropout": 0.4, "mask": True},
    "activations": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
}


def _keras_layer(cell, reset_after, case):
    kwargs = {"units": H, "return_sequences": case.get("return_sequences", True),
              "return_state": True, "go_backwards": case.get("go_backwards", False),
              "zero_output_for_mask": case.get("zero_output_for_mask", False),
              "activation": case.get("activation", "tanh"), "dtype": "float64",
              "dropout": case.get("dropout", 0.0),
              "recurrent_dropout": case.get("recurrent_dropout", 0.0)}
    if cell != "simple_rnn":
        kwargs["recurrent_activation"] = case.get("recurrent_activation", "sigmoid")
    if cell == "gru":
        kwargs["reset_after"] = reset_after
    cls = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
           "gru": keras.layers.GRU}[cell]
    layer = cls(**kwargs)
    layer.build((N, T, D))
    return layer


def _dropout_masks(rng, layer, cell):
    """Masks in the form Keras' cell caches them (a list per gate in implementation 1)."""
    c = layer.cell
    per_gate = getattr(c, "dropout_mask_count", None)

    def draw(rate, width):
        if not rate:
            return None
        shape = (per_gate or 1, N, width)
        m = (rng.random(shape) > rate) / (1 - rate)
        return list(m) if per_gate else m[0]
    return draw(c.dropout, D), draw(c.recurrent_dropout, H)


def _problem(cell, reset_after, case, seed=0):
    rng = np.random.default_rng(seed)
    layer = _keras_layer(cell, reset_after, case)
    weights = [0.6 * rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.standard_normal((N, T, D))
    mask = _mask(rng) if case.get("mask") else None
    states = None
    if case.get("initial_state"):
        states = [0.5 * rng.standard_normal((N, H)) for _ in range(2 if cell == "lstm" else 1)]
    dm, rm = _dropout_masks(rng, layer, cell)
    out_shape = (N, T, H) if case.get("return_sequences", True) else (N, H)
    seeds = [rng.standard_normal(out_shape)] + [rng.standard_normal((N, H))
                                               for _ in range(2 if cell == "lstm" else 1)]
    return layer, weights, x, mask, states, dm, rm, seeds


def _keras_result(layer, x, mask, states, dm, rm, seeds, training):
    tx = torch.tensor(x, requires_grad=True)
    ts = None if states is None else [torch.tensor(s, requires_grad=True) for s in states]
    as_torch = lambda m: None if m is None else (  # noqa: E731
        [torch.tensor(g) for g in m] if isinstance(m, list) else torch.tensor(m))
    layer.cell._dropout_mask = as_torch(dm)
    layer.cell._recurrent_dropout_mask = as_torch(rm)
    kwargs = {"training": training}
    if mask is not None:
        kwargs["mask"] = torch.tensor(mask)
    if ts is not None:
        kwargs["initial_state"] = ts
    outs = layer(tx, **kwargs)
    loss = sum((o * torch.tensor(g)).sum() for o, g in zip(outs, seeds))
    loss.backward()
    result = {"outputs": outs[0].detach().numpy(), "states": [o.detach().numpy() for o in outs[1:]],
              "dx": tx.grad.numpy(), "dweights": [w.value.grad.numpy() for w in layer.weights],
              "dstates": None if ts is None else [s.grad.numpy() for s in ts]}
    return result


def _our_result(cell, reset_after, case, weights, x, mask, states, dm, rm, seeds, dtype):
    cast = lambda a: a.astype(dtype)  # noqa: E731
    variables = [Variable(cast(w)) for w in weights]
    bias = variables[2] if len(variables) == 3 else None
    xt = ops.convert_to_tensor(cast(x))
    st = None if states is None else [ops.convert_to_tensor(cast(s)) for s in states]
    def cast_mask(m):
        return None if m is None else [cast(g) for g in m] if isinstance(m, list) else cast(m)
    with GradientTape() as tape:
        tape.watch([xt] + (st or []))
        out, final = rnn_sequence(
            cell, xt, variables[0], variables[1], bias, st,
            activation=case.get("activation", "tanh"),
            recurrent_activation=case.get("recurrent_activation", "sigmoid"), mask=mask,
            go_backwards=case.get("go_backwards", False),
            return_sequences=case.get("return_sequences", True),
            zero_output_for_mask=case.get("zero_output_for_mask", False),
            dropout_mask=cast_mask(dm), recurrent_dropout_mask=cast_mask(rm),
            reset_after=reset_after)
    sources = [xt] + variables + (st or [])
    grads = tape.gradient([out] + final, sources, output_gradients=[cast(g) for g in seeds])
    grads = [g.numpy() for g in grads]
    return {"outputs": out.numpy(), "states": [s.numpy() for s in final], "dx": grads[0],
            "dweights": grads[1:1 + len(variables)],
            "dstates": None if st is None else grads[1 + len(variables):]}


def _assert_close(actual, expected, rtol, what):
    assert actual.shape == expected.shape, what
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _assert_results(ours, theirs, rtol):
    _assert_close(ours["outputs"], theirs["outputs"], rtol, "outputs")
    for i, (a, b) in enumerate(zip(ours["states"], theirs["states"], strict=True)):
        _assert_close(a, b, rtol, f"state {i}")
    _assert_close(ours["dx"], theirs["dx"], rtol, "dx")
    for i, (a, b) in enumerate(zip(ours["dweights"], theirs["dweights"], strict=True)):
        _assert_close(a, b, rtol, f"dweight {i}")
    if theirs["dstates"] is not None:
        for i, (a, b) in enumerate(zip(ours["dstates"], theirs["dstates"], strict=True)):
            _assert_close(a, b, rtol, f"dstate {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_matches_keras_layers(cell, reset_after, case, dtype):
    opts = CASES[case]
    layer, weights, x, mask, states, dm, rm, seeds = _problem(cell, reset_after, opts)
    training = bool(opts.get("dropout") or opts.get("recurrent_dropout"))
    theirs = _keras_result(layer, x, mask, states, dm, rm, seeds, training)
    ours = _our_result(cell, reset_after, opts, weights, x, mask, states, dm, rm, seeds, dtype)
    _assert_results(ours, theirs, KERAS_RTOL)


def _reference(cell, reset_after, opts, weights, x, mask, states, dm, rm, seeds):
    """rnn_reference.keras_rnn (the kernel tests' reference) on a _problem, in the result
    layout of _keras_result."""
    stack = lambda m: None if m is None else np.stack(m) if isinstance(m, list) else m  # noqa: E731
    h0, c0 = (states or []) + [None] * (2 - len(states or []))
    ref = keras_rnn(cell, x, *weights[:2], weights[2] if len(weights) == 3 else None, h0, c0,
                    mask=mask, dropout_mask=stack(dm), recurrent_dropout_mask=stack(rm),
                    activation_name=opts.get("activation", "tanh"),
                    recurrent_activation=opts.get("recurrent_activation", "sigmoid"),
                    reset_after=reset_after, go_backwards=opts.get("go_backwards", False),
                    return_sequences=opts.get("return_sequences", True),
                    zero_output_for_mask=opts.get("zero_output_for_mask", False),
                    grads=(seeds[0], seeds[1], seeds[2] if cell == "lstm" else None))
    names = ["kernel", "recurrent_kernel", "bias"][:len(weights)]
    states_out = [ref["h"]] + ([ref["c"]] if cell == "lstm" else [])
    return {"outputs": ref["outputs"], "states": states_out,
            "dx": ref["dx"], "dweights": [ref["d" + k] for k in names],
            "dstates": None if states is None else [ref["dh0"], ref["dc0"]][:len(states)]}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_reference_loop_matches_keras(cell, reset_after, case):
    """The kernel tests' reference (rnn_reference.keras_rnn) is Keras' forward and backward."""
    opts = CASES[case]
    problem = _problem(cell, reset_after, opts, seed=1)
    layer, weights, x, mask, states, dm, rm, seeds = problem
    training = bool(opts.get("dropout") or opts.get("recurrent_dropout"))
    theirs = _keras_result(layer, x, mask, states, dm, rm, seeds, training)
    _assert_results(_reference(cell, reset_after, opts, *problem[1:]), theirs, KERAS_RTOL)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_float64_matches_reference_loop(cell, reset_after, case):
    opts = CASES[case]
    problem = _problem(cell, reset_after, opts, seed=2)
    ours = _our_result(cell, reset_after, opts, *problem[1:], np.float64)
    _assert_results(ours, _reference(cell, reset_after, opts, *problem[1:]), RTOL_FLOAT64)


def test_without_bias_and_state_gradients_only_when_watched():
    rng = np.random.default_rng(3)
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True, use_bias=False,
                              dtype="float64")
    layer.build((N, T, D))
    weights = [0.6 * rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.standard_normal((N, T, D))
    seeds = [rng.standard_normal((N, T, H)), np.zeros((N, H)), np.zeros((N, H))]
    theirs = _keras_result(layer, x, None, None, None, None, seeds, False)
    ours = _our_result("lstm", True, {}, weights, x, None, None, None, None, seeds, np.float64)
    _assert_results(ours, theirs, KERAS_RTOL)


def test_rnn_activation_names():
    assert rnn_activation(None) == "linear"
    assert rnn_activation("hard_sigmoid") == "hard_sigmoid"
    assert rnn_activation(tl_activations.tanh) == "tanh"
    assert rnn_activation(tl_activations.get("sigmoid")) == "sigmoid"
    assert rnn_activation("gelu") is None
    assert rnn_activation(tl_activations.gelu) is None
    assert rnn_activation(lambda z: z) is None
    with pytest.raises(ValueError, match="fuses only the activations"):
        rnn_sequence("lstm", np.zeros((1, 2, 3), np.float32),
                     Variable(np.zeros((3, 4), np.float32)), Variable(np.zeros((1, 4), np.float32)),
                     activation="gelu")


def test_no_tape_no_graph():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    k = Variable(np.ones((4, 12), np.float32) * 0.1)
    u = Variable(np.ones((4, 12), np.float32) * 0.1)
    out, states = rnn_sequence("gru", x, k, u, None, return_sequences=True)
    assert out.shape == (2, 3, 4) and len(states) == 1 and states[0].shape == (2, 4)
    assert out._node is None and states[0]._node is None
    np.testing.assert_array_equal(out.numpy()[:, -1], states[0].numpy())
