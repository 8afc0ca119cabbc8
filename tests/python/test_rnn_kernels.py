"""The rnn op family (cpp/rnn.*, cuda/rnn.cu) against PyTorch, on the CPU and on the CUDA
kernels under emulation (the `backend` fixture), at every SIMD level.

References (float64, every gradient by autograd): torch's nn.RNN / nn.LSTM / nn.GRU holding
the Keras weights (transposed, gates reordered; GRU reset_after=True is torch's GRU) for the
configurations torch has, and Keras 3's cell equations in its backend rnn() loop written in
torch (rnn_reference.py) for the rest: GRU reset_after=False, masks (all-masked rows, masked
first and last steps), zero_output_for_mask, go_backwards, dropout masks (one for every gate
or one per gate), relu / hard_sigmoid / linear activations. test_keras_rnn_fused.py checks
that loop against Keras' own layers.

Sequence lengths 1 to 100, batch 1 to 130, units that are multiples of no vector width, both
sides of the hand-product / BLAS switch (up to 512 units and 64 rows per thread: 520 units,
130 rows), float32 and float64.
Tolerances: rtol 1e-5 (float32) or 1e-10 (float64) with an absolute term of the same size
times the largest reference value (gradients are sums over all n t rows).
"""
import numpy as np
import pytest
import torch

from turbolearn import _cpu, _ops

from conftest import SIMD_LEVELS
from rnn_reference import GATES, keras_rnn, torch_module, torch_module_gradients

RTOL = {np.float32: 1e-5, np.float64: 1e-10}
VARIANTS = [("simple_rnn", True), ("lstm", True), ("gru", True), ("gru", False)]
VARIANT_IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before"]
GRADIENTS = ("dx", "dkernel", "drecurrent_kernel", "dbias", "dh0", "dc0")


def problem(rng, cell, shape, dtype, reset_after=True, bias=True, return_sequences=True):
    n, t, d, h = shape
    gh = GATES[cell] * h
    p = {
        "x": rng.standard_normal((n, t, d)),
        "kernel": rng.standard_normal((d, gh)) / np.sqrt(d),
        "recurrent_kernel": rng.standard_normal((h, gh)) / np.sqrt(h),
        "bias": (0.5 * rng.standard_normal((2, gh) if cell == "gru" and reset_after else gh)
                 if bias else None),
        "h0": 0.5 * rng.standard_normal((n, h)),
        "c0": 0.5 * rng.standard_normal((n, h)) if cell == "lstm" else None,
        "d_outputs": rng.standard_normal((n, t, h) if return_sequences else (n, h)),
        "d_h": rng.standard_normal((n, h)),
        "d_c": rng.standard_normal((n, h)) if cell == "lstm" else None,
    }
    return {k: None if v is None else v.astype(dtype) for k, v in p.items()}


def run_ops(cell, p, **opts):
    """Forward and backward through _ops, as a dict like the references'."""
    outputs, h, c, workspace = _ops.rnn_forward(
        cell, p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], h0=p["h0"], c0=p["c0"],
        **opts)
    grads = _ops.rnn_backward(cell, p["x"], p["kernel"], p["recurrent_kernel"], workspace,
                              p["d_outputs"], p["d_h"], p["d_c"], has_bias=p["bias"] is not None,
                              **opts)
    return {"outputs": outputs, "h": h, "c": c, **dict(zip(GRADIENTS, grads))}


def reference(cell, p, **opts):
    opts = dict(opts)
    opts["activation_name"] = opts.pop("activation", "tanh")
    return keras_rnn(cell, p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], p["h0"],
                     p["c0"], grads=(p["d_outputs"], p["d_h"], p["d_c"]), **opts)


def assert_close(actual, expected, dtype, what):
    if expected is None:
        assert actual is None, what
        return
    assert actual.dtype == dtype and actual.shape == expected.shape, what
    scale = float(np.abs(expected).max()) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype],
                               atol=RTOL[dtype] * max(scale, 1.0), err_msg=what)


def assert_matches(ours, ref, dtype):
    for key in ("outputs", "h", "c") + GRADIENTS:
        assert_close(ours[key], ref[key], dtype, key)


TORCH_SHAPES = [(1, 1, 1, 1), (3, 7, 5, 13), (64, 30, 3, 20), (1, 100, 2, 11), (5, 9, 4, 64),
                (4, 6, 3, 65), (2, 4, 7, 100), (130, 4, 3, 9), (2, 3, 2, 520)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", TORCH_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_matches_torch_modules(backend, rng, cell, shape, dtype):
    p = problem(rng, cell, shape, dtype)
    module = torch_module(cell, p["kernel"].astype(np.float64),
                          p["recurrent_kernel"].astype(np.float64), p["bias"].astype(np.float64))
    f64 = {k: None if v is None else v.astype(np.float64) for k, v in p.items()}
    ref = torch_module_gradients(cell, module, f64["x"], f64["h0"], f64["c0"], f64["d_outputs"],
                                 f64["d_h"], f64["d_c"])
    ref["dbias"] = (np.stack([ref["dbias_in"], ref["dbias_rec"]]) if cell == "gru"
                    else ref["dbias_in"])
    assert_matches(run_ops(cell, p), ref, dtype)


def _mask(rng, n, t):
    """Random steps masked, plus an all-masked row, a row with masked first steps and one whose
    last step is masked (the cases where Keras' masked outputs differ)."""
    mask = rng.random((n, t)) > 0.35
    mask[0] = False
    mask[1, : t // 2 + 1] = False
    mask[2, -1] = False
    return mask


def _options(rng, cell, n, t, d, h):
    g = GATES[cell]
    mask = _mask(rng, n, t)
    keep = lambda shape: ((rng.random(shape) > 0.3) / 0.7)  # noqa: E731  (Keras' inverted dropout)
    return {
        "plain": {},
        "mask": {"mask": mask},
        "mask_backwards": {"mask": mask, "go_backwards": True},
        "mask_zero_output": {"mask": mask, "zero_output_for_mask": True},
        "mask_last_output": {"mask": mask, "return_sequences": False},
        "mask_last_zero_backwards": {"mask": mask, "return_sequences": False,
                                     "zero_output_for_mask": True, "go_backwards": True},
        "backwards_last": {"go_backwards": True, "return_sequences": False},
        "dropout": {"dropout_mask": keep((n, d))},
        "dropout_per_gate": {"dropout_mask": keep((g, n, d))},
        "recurrent_dropout_per_gate": {"recurrent_dropout_mask": keep((g, n, h))},
        "recurrent_dropout_shared": {"recurrent_dropout_mask": keep((n, h))},
        "relu_hard_sigmoid": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
        "linear_sigmoid": {"activation": "linear"},
        "everything": {"mask": mask, "go_backwards": True, "dropout_mask": keep((g, n, d)),
                       "recurrent_dropout_mask": keep((g, n, h)), "activation": "relu"},
    }


OPTION_NAMES = list(_options(np.random.default_rng(0), "lstm", 5, 6, 3, 9))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("option", OPTION_NAMES)
@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_matches_keras_equations(backend, rng, cell, reset_after, option, dtype):
    n, t, d, h = 5, 6, 3, 9
    opts = _options(rng, cell, n, t, d, h)[option]
    opts = {k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype != bool else v
            for k, v in opts.items()}
    p = problem(rng, cell, (n, t, d, h), dtype, reset_after,
                return_sequences=opts.get("return_sequences", True))
    opts["reset_after"] = reset_after
    assert_matches(run_ops(cell, p, **opts), reference(cell, p, **opts), dtype)


@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_long_masked_sequences_batch_64(rng, cell, reset_after):
    # The book's 20 units at batch 64 over 100 steps, float32, masked and per-gate dropout.
    n, t, d, h = 64, 100, 3, 20
    keep = (rng.random((GATES[cell], n, h)) > 0.2) / 0.8
    opts = {"mask": _mask(rng, n, t), "reset_after": reset_after,
            "recurrent_dropout_mask": keep.astype(np.float32)}
    p = problem(rng, cell, (n, t, d, h), np.float32, reset_after)
    assert_matches(run_ops(cell, p, **opts), reference(cell, p, **opts), np.float32)


@pytest.mark.parametrize("level", SIMD_LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_level(rng, level, dtype):
    order = ["baseline", "avx2", "avx512"]
    if order.index(level) > order.index(_cpu.simd_detected()):
        pytest.skip(f"this CPU has no {level}")
    previous = _cpu.simd_level()
    _cpu.set_simd_level(level)
    try:
        for cell, reset_after in VARIANTS:
            for h in (20, 37):  # the hand product at two paddings
                n, t, d = 7, 12, 3
                opts = {"mask": _mask(rng, n, t), "reset_after": reset_after,
                        "activation": "tanh", "recurrent_activation": "sigmoid"}
                p = problem(rng, cell, (n, t, d, h), dtype, reset_after)
                assert_matches(run_ops(cell, p, **opts), reference(cell, p, **opts), dtype)
    finally:
        _cpu.set_simd_level(previous)


def test_same_results_on_one_and_two_threads(rng):
    # Rows are split over threads for the whole sequence; each row's arithmetic is the same.
    p = problem(rng, "lstm", (32, 20, 3, 20), np.float32)
    previous = _cpu.get_num_threads()
    try:
        _cpu.set_num_threads(1)
        one = run_ops("lstm", p)
        _cpu.set_num_threads(2)
        two = run_ops("lstm", p)
    finally:
        _cpu.set_num_threads(previous)
    for key in ("outputs", "h", "c", "dh0", "dc0", "dx"):
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    for key in ("dkernel", "drecurrent_kernel", "dbias"):
        assert_close(two[key], one[key], np.float32, key)


@pytest.mark.parametrize("cell,reset_after", VARIANTS, ids=VARIANT_IDS)
def test_without_bias_and_initial_states(backend, rng, cell, reset_after):
    p = problem(rng, cell, (4, 5, 3, 6), np.float64, reset_after, bias=False)
    p["h0"] = p["c0"] = p["d_h"] = p["d_c"] = None
    ours = run_ops(cell, p, reset_after=reset_after)
    assert ours["dbias"] is None
    ref = reference(cell, p, reset_after=reset_after)
    assert_matches(ours, ref, np.float64)


def test_optional_gradients_are_none(backend, rng):
    p = problem(rng, "gru", (3, 4, 2, 5), np.float64)
    _, _, c, ws = _ops.rnn_forward("gru", p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    assert c is None
    dx, dk, du, db, dh0, dc0 = _ops.rnn_backward(
        "gru", p["x"], p["kernel"], p["recurrent_kernel"], ws, p["d_outputs"], need_dx=False,
        need_initial_state=False)
    assert dx is None and dh0 is None and dc0 is None
    ref = reference("gru", {**p, "h0": None, "d_h": None})
    assert_close(dk, ref["dkernel"], np.float64, "dkernel")
    assert_close(du, ref["drecurrent_kernel"], np.float64, "drecurrent_kernel")
    assert_close(db, ref["dbias"], np.float64, "dbias")


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_empty_batch(backend, cell):
    p = problem(np.random.default_rng(0), cell, (0, 4, 3, 5), np.float64)
    ours = run_ops(cell, p)
    assert ours["outputs"].shape == (0, 4, 5) and ours["dx"].shape == (0, 4, 3)
    for key in ("dkernel", "drecurrent_kernel", "dbias"):
        np.testing.assert_array_equal(ours[key], 0)


def test_nan_stays_in_its_row_and_masked_steps_are_ignored(backend, rng):
    p = problem(rng, "lstm", (3, 5, 2, 4), np.float64)
    p["x"][0, 2, 1] = np.nan  # a used step: row 0 becomes NaN from step 2 on
    p["x"][1, 3, 0] = np.nan  # a masked step: Keras' where() discards it
    mask = np.ones((3, 5), bool)
    mask[1, 3] = False
    out, h, c, _ = _ops.rnn_forward("lstm", p["x"], p["kernel"], p["recurrent_kernel"],
                                    p["bias"], mask=mask)
    assert np.all(np.isfinite(out[0, :2])) and np.all(np.isnan(out[0, 2:]))
    for a in (out, h, c):
        assert np.all(np.isfinite(a[1:]))


def test_bad_input_is_rejected():
    rng = np.random.default_rng(0)
    p = problem(rng, "lstm", (2, 3, 4, 5), np.float32)
    x, k, u, b = p["x"], p["kernel"], p["recurrent_kernel"], p["bias"]
    k15, u15 = np.ascontiguousarray(k[:, :15]), np.ascontiguousarray(u[:, :15])  # a GRU's shapes
    fwd = _ops.rnn_forward
    with pytest.raises(ValueError, match="unknown cell"):
        fwd("rnn", x, k, u, b)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        fwd("lstm", x, k, u, b, activation="gelu")
    with pytest.raises(ValueError, match="3-D"):
        fwd("lstm", x[0], k, u, b)
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        fwd("lstm", x.astype(np.int32), k, u, b)
    with pytest.raises(TypeError, match="kernel must have the dtype of x"):
        fwd("lstm", x, k.astype(np.float64), u, b)
    with pytest.raises(ValueError, match=r"kernel must have shape \(4, 20\), got \(4, 15\)"):
        fwd("lstm", x, k15, u, b)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(5, 20\)"):
        fwd("lstm", x, k, u15, b)
    with pytest.raises(ValueError, match=r"bias must have shape \(20,\)"):
        fwd("lstm", x, k, u, np.zeros((2, 20), np.float32))
    with pytest.raises(ValueError, match=r"bias must have shape \(2, 15\)"):
        fwd("gru", x, k15, u15, np.zeros(15, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        fwd("lstm", np.asfortranarray(x), k, u, b)
    with pytest.raises(TypeError, match="mask must be a bool array"):
        fwd("lstm", x, k, u, b, mask=np.ones((2, 3), np.int32))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        fwd("lstm", x, k, u, b, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match=r"dropout_mask must have shape \(2, 4\) or \(4, 2, 4\)"):
        fwd("lstm", x, k, u, b, dropout_mask=np.ones((3, 2, 4), np.float32))
    with pytest.raises(ValueError, match="recurrent_dropout_mask must have shape"):
        fwd("lstm", x, k, u, b, recurrent_dropout_mask=np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\)"):
        fwd("lstm", x, k, u, b, h0=np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="c0 must be None"):
        fwd("gru", x, k15, u15, None, c0=np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="at least one time step"):
        fwd("lstm", x[:, :0], k, u, b)
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        fwd("lstm", x.tolist(), k, u, b)
    _, _, _, ws = fwd("lstm", x, k, u, b)
    bwd = _ops.rnn_backward
    with pytest.raises(ValueError, match="workspace must have shape"):
        bwd("lstm", x, k, u, np.ascontiguousarray(ws[:, :, :-1]), p["d_outputs"])
    with pytest.raises(ValueError, match=r"d_outputs must have shape \(2, 3, 5\)"):
        bwd("lstm", x, k, u, ws, np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"d_outputs must have shape \(2, 5\)"):
        bwd("lstm", x, k, u, ws, p["d_outputs"], return_sequences=False)
    with pytest.raises(ValueError, match="d_c must be None"):
        bwd("gru", x, k15, u15, np.zeros((2, 3, 25), np.float32), None,
            d_c=np.zeros((2, 5), np.float32))
    with pytest.raises(TypeError, match="d_h must have the dtype of x"):
        bwd("lstm", x, k, u, ws, None, np.zeros((2, 5)))
