"""The optim op family (cpp/optim.*, cuda/optim.cu) against a float64 NumPy reference of each
rule, on the CPU kernels (every SIMD level) and the CUDA kernels under emulation (the
`backend` fixture): several steps, with and without gradient scale, clipvalue and decay;
lists of tensors in one call; empty tensors; NaN propagation; bad input."""
import numpy as np
import pytest

from turbolearn import _ops
from turbolearn._ops.optim import AMSGRAD, CENTERED, MOMENTUM, NESTEROV

RTOL = {np.float32: 2e-5, np.float64: 1e-12}

# (rule, flags, coeffs) — coefficients as keras.optimizers computes them (at step 1 for Adam).
VARIANTS = [
    ("sgd", 0, ()),
    ("sgd", MOMENTUM, (0.9,)),
    ("sgd", MOMENTUM | NESTEROV, (0.9,)),
    ("adam", 0, (0.9, 0.1, 0.999, 0.001, 0.003, 1e-7)),
    ("adam", AMSGRAD, (0.9, 0.1, 0.999, 0.001, 0.003, 1e-7)),
    ("rmsprop", 0, (0.9, 0.1, 0.0, 1e-7)),
    ("rmsprop", MOMENTUM, (0.9, 0.1, 0.5, 1e-7)),
    ("rmsprop", CENTERED, (0.9, 0.1, 0.0, 1e-7)),
    ("rmsprop", MOMENTUM | CENTERED, (0.9, 0.1, 0.5, 1e-7)),
    ("adagrad", 0, (1e-7,)),
    ("adadelta", 0, (0.95, 0.05, 1e-7)),
    ("adamax", 0, (0.9, 0.1, 0.999, 0.1, 1e-7)),
    ("nadam", 0, (0.9, 0.1, 0.999, 0.001, 0.85, 0.3, 0.2, 0.25, 0.001, 1e-7)),
    ("ftrl", 0, (0.5, 0.01, 0.2, 0.1)),
]


def reference(rule, flags, c, lr, p, g, slots, scale=1.0, clip=None, decay=1.0):
    """One step in float64 NumPy; returns the new (param, slots)."""
    p = p.astype(np.float64) * decay
    g = g.astype(np.float64) * scale
    if clip is not None:
        g = np.clip(g, -clip, clip)
    s = [x.astype(np.float64) for x in slots]
    if rule == "sgd":
        if flags & MOMENTUM:
            s[0] = s[0] * c[0] - lr * g
            p = (p - lr * g) + c[0] * s[0] if flags & NESTEROV else p + s[0]
        else:
            p = p - lr * g
    elif rule == "adam":
        s[0] = s[0] * c[0] + c[1] * g
        s[1] = s[1] * c[2] + c[3] * g * g
        v = s[1]
        if flags & AMSGRAD:
            s[2] = np.maximum(s[2], s[1])
            v = s[2]
        p = p - s[0] * c[4] / (np.sqrt(v) + c[5])
    elif rule == "rmsprop":
        s[0] = c[0] * s[0] + c[1] * g * g
        denom = s[0] + c[3]
        if flags & CENTERED:
            k = 2 if flags & MOMENTUM else 1
            s[k] = c[0] * s[k] + c[1] * g
            denom = denom - s[k] ** 2
        inc = g * lr / np.sqrt(denom)
        if flags & MOMENTUM:
            s[1] = s[1] * c[2] + inc
            p = p - s[1]
        else:
            p = p - inc
    elif rule == "adagrad":
        s[0] = s[0] + g * g
        p = p - lr * g / np.sqrt(s[0] + c[0])
    elif rule == "adadelta":
        s[0] = c[0] * s[0] + c[1] * g * g
        d = -(np.sqrt(s[1] + c[2]) * g) / np.sqrt(s[0] + c[2])
        s[1] = c[0] * s[1] + c[1] * d * d
        p = p + lr * d
    elif rule == "adamax":
        s[0] = s[0] * c[0] + c[1] * g
        s[1] = np.maximum(s[1] * c[2], np.abs(g))
        p = p - s[0] * lr / ((s[1] + c[4]) * c[3])
    elif rule == "nadam":
        s[0] = s[0] * c[0] + c[1] * g
        s[1] = s[1] * c[2] + c[3] * g * g
        m_hat = s[0] * c[4] / c[5] + g * c[6] / c[7]
        p = p - m_hat * lr / (np.sqrt(s[1] / c[8]) + c[9])
    elif rule == "ftrl":
        power, l1, l2x2, shrink = c
        g_use = g + shrink * p
        new = s[0] + g * g
        s[1] = s[1] + g_use - (new ** power - s[0] ** power) / lr * p
        p = (np.clip(s[1], -l1, l1) - s[1]) / (new ** power / lr + l2x2)
        s[0] = new
    return p, s


def initial_slots(rule, shape, dtype, rng, n):
    if rule in ("adagrad", "ftrl"):  # accumulators start positive
        out = [np.full(shape, 0.1, dtype)] + [np.zeros(shape, dtype) for _ in range(n - 1)]
    else:
        out = [np.zeros(shape, dtype) for _ in range(n)]
    if rule in ("adam", "sgd", "adamax", "nadam") and n:
        out[0] = (0.1 * rng.standard_normal(shape)).astype(dtype)
    return out


def run_steps(rng, rule, flags, coeffs, shapes, dtype, steps=3, **extra):
    n = _ops.optim_slot_count(rule, flags)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    slots = [initial_slots(rule, s, dtype, rng, n) for s in shapes]
    ref_p = [p.astype(np.float64) for p in params]
    ref_s = [[x.astype(np.float64) for x in sl] for sl in slots]
    lr = 0.05
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        _ops.optim_update(rule, params, grads, slots, lr=lr, coeffs=coeffs, flags=flags,
                          clipvalue=extra.get("clip"),
                          scales=None if "scale" not in extra else [extra["scale"]] * len(shapes),
                          decays=None if "decay" not in extra else [extra["decay"]] * len(shapes))
        for i in range(len(shapes)):
            ref_p[i], ref_s[i] = reference(rule, flags, coeffs, lr, ref_p[i], grads[i], ref_s[i],
                                           scale=extra.get("scale", 1.0), clip=extra.get("clip"),
                                           decay=extra.get("decay", 1.0))
    return params, slots, ref_p, ref_s


def check(params, slots, ref_p, ref_s, dtype):
    for p, rp in zip(params, ref_p):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, rp, rtol=RTOL[dtype], atol=RTOL[dtype])
    for sl, rs in zip(slots, ref_s):
        for x, rx in zip(sl, rs):
            np.testing.assert_allclose(x, rx, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule,flags,coeffs", VARIANTS, ids=[f"{r}-{f}" for r, f, _ in VARIANTS])
def test_rule_vs_numpy(backend, rng, rule, flags, coeffs, dtype):
    shapes = [(37, 5), (1,), (130,), (0, 3)]  # sizes off every vector width, and an empty one
    check(*run_steps(rng, rule, flags, coeffs, shapes, dtype), dtype)


@pytest.mark.parametrize("extra", [{"clip": 0.3}, {"scale": 0.5}, {"decay": 0.99}],
                         ids=["clip", "scale", "decay"])
@pytest.mark.parametrize("rule,flags,coeffs", [VARIANTS[1], VARIANTS[4], VARIANTS[8]],
                         ids=["momentum", "amsgrad", "rmsprop-mc"])
def test_clip_scale_decay(backend, rng, rule, flags, coeffs, extra):
    check(*run_steps(rng, rule, flags, coeffs, [(17, 3), (9,)], np.float32, **extra), np.float32)


def test_simd_levels_and_threads(simd_level, rng):
    for rule, flags, coeffs in VARIANTS:  # a large tensor: the OpenMP path
        check(*run_steps(rng, rule, flags, coeffs, [(300, 701)], np.float32, steps=2), np.float32)


def test_nan_propagates(backend):
    p = np.ones(4, np.float32)
    g = np.array([np.nan, 1, np.inf, -np.inf], np.float32)
    m = [np.zeros(4, np.float32), np.zeros(4, np.float32)]
    _ops.optim_update("adam", [p], [g], [m], lr=0.1, coeffs=(0.9, 0.1, 0.999, 0.001, 0.1, 1e-7),
                      clipvalue=0.5)
    assert np.isnan(p[0]) and np.isfinite(p[1:]).all()  # clipping keeps NaN, bounds infs


def test_errors():
    p = np.ones((2, 3), np.float32)
    g = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="unknown optimizer rule"):
        _ops.optim_update("lion", [p], [g], [[]], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[0\] must have the shape"):
        _ops.optim_update("sgd", [p], [np.ones((3, 2), np.float32)], [[]], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\] must have the dtype"):
        _ops.optim_update("sgd", [p], [g.astype(np.float64)], [[]], lr=0.1)
    with pytest.raises(ValueError, match=r"slots\[0\] must hold 2"):
        _ops.optim_update("adam", [p], [g], [[np.zeros_like(p)]], lr=0.1)
    with pytest.raises(ValueError, match="C-contiguous"):
        _ops.optim_update("sgd", [np.ones((3, 2), np.float32).T], [g], [[]], lr=0.1)
    with pytest.raises(ValueError, match="writeable"):
        ro = p.copy()
        ro.flags.writeable = False
        _ops.optim_update("sgd", [ro], [g], [[]], lr=0.1)
    with pytest.raises(ValueError, match="array of its own"):
        _ops.optim_update("adam", [p], [g], [[p, np.zeros_like(p)]], lr=0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        _ops.optim_update("sgd", [np.ones(3, np.int32)], [np.ones(3, np.int32)], [[]], lr=0.1)
    with pytest.raises(ValueError, match="same length"):
        _ops.optim_update("sgd", [p], [], [[]], lr=0.1)
    with pytest.raises(ValueError, match="flags"):
        _ops.optim_update("adagrad", [p], [g], [[np.zeros_like(p)]], lr=0.1, flags=MOMENTUM)
