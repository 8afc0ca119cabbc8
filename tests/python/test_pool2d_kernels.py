"""The pool2d op family (cpp/pool2d.*, cuda/pool2d.cu) against torch.nn.functional and autograd,
on the CPU and the CUDA kernels under emulation (the `backend` fixture), at every SIMD level.

Layouts: our images are NHWC, torch's NCHW (converted in the reference). Paddings come from
Keras' 'valid' / 'same' (`pool2d_paddings`), the extra pad at the bottom / right.

- max: the output and its gradient equal torch's max_pool2d (inputs padded with -inf) bit
  for bit, in the input's dtype (the maximum is an input element; the gradient sums the same
  values in the same order), and the argmax equals torch's indices mapped to the image plane.
- average: against avg_pool2d(count_include_pad=False) where the paddings are symmetric, and
  in general against the window sums of the zero-padded input over the window counts of
  valid elements (divisor_override=1 on the input and on ones), in float64 autograd; rtol
  1e-6 for float32 (1e-13 for float64) with an absolute term of the same size times the
  largest value.
- global pooling: against adaptive_avg_pool2d / adaptive_max_pool2d(1).
The grid: pool sizes 1-3 and non-square, strides 1-3 (equal to the pool size or not, windows
overlapping or skipping elements), odd and even sizes, channels that are multiples of no
vector width, batch 1, windows larger than the input ('same'), the empty batch, NaN, ties,
bad input.
"""
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from turbolearn import _cpu, _ops

import kernel_checks

RTOL = {np.float32: 1e-6, np.float64: 1e-13}
assert_close = partial(kernel_checks.assert_close, rtol=RTOL)
POOLS = [(1, 1), (2, 2), (3, 3), (2, 3), (3, 1)]
STRIDES = [(1, 1), (2, 2), (3, 3), (1, 2), (3, 1)]
# (n, h, w, c): odd and even sizes, channels 1, 3, 17, 33, batch 1.
SHAPES = [(1, 7, 6, 17), (2, 8, 9, 3), (3, 5, 5, 33), (1, 4, 11, 1), (2, 2, 3, 5)]


def to_torch(a):
    return torch.tensor(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def to_nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def torch_pad(t, paddings, value):
    (top, bottom), (left, right) = paddings
    return F.pad(t, (left, right, top, bottom), value=value)


def max_reference(x, pool, stride, paddings, grad_out):
    """(out, argmax in the image plane, dx) from torch in x's dtype."""
    t = to_torch(x).requires_grad_(True)
    padded = torch_pad(t, paddings, -np.inf)
    out, idx = F.max_pool2d(padded, pool, stride, return_indices=True)
    out.backward(to_torch(grad_out))
    (top, _), (left, _) = paddings
    width = padded.shape[3]
    rows, cols = idx // width - top, idx % width - left
    argmax = (rows * x.shape[2] + cols).to(torch.int32)
    return to_nhwc(out), to_nhwc(argmax), to_nhwc(t.grad)


def average_reference(x, pool, stride, paddings, grad_out):
    """(out, dx) in float64 autograd: window sums of the zero-padded input over the counts of
    valid elements; torch's own count_include_pad=False pooling where the paddings allow."""
    t = to_torch(x.astype(np.float64)).requires_grad_(True)
    (top, bottom), (left, right) = paddings
    if top == bottom and left == right:
        out = F.avg_pool2d(t, pool, stride, padding=(top, left), count_include_pad=False)
    else:
        sums = F.avg_pool2d(torch_pad(t, paddings, 0.0), pool, stride, divisor_override=1)
        ones = torch_pad(torch.ones_like(t[:1, :1]), paddings, 0.0)
        out = sums / F.avg_pool2d(ones, pool, stride, divisor_override=1)
    out.backward(to_torch(grad_out.astype(np.float64)))
    return to_nhwc(out), to_nhwc(t.grad)


def check_pooling(rng, shape, pool, stride, padding, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    paddings = _ops.pool2d_paddings(shape[1:3], pool, stride, padding)
    out, argmax = _ops.pool2d_forward(x, pool, stride, paddings, "max")
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    ref_out, ref_argmax, ref_dx = max_reference(x, pool, stride, paddings, grad_out)
    assert out.dtype == dtype and argmax.dtype == np.int32
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)
    dx = _ops.pool2d_backward(grad_out, argmax, x.shape, pool, stride, paddings, "max")
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dx, ref_dx)

    avg, none = _ops.pool2d_forward(x, pool, stride, paddings, "average")
    assert none is None
    ref_avg, ref_avg_dx = average_reference(x, pool, stride, paddings, grad_out)
    assert_close(avg, ref_avg, dtype)
    assert_close(_ops.pool2d_backward(grad_out, None, x.shape, pool, stride, paddings, "average"),
                 ref_avg_dx, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("pool", POOLS)
def test_matches_torch(backend, rng, pool, stride, padding, dtype):
    # Every shape at which the window fits ('valid' needs the input at least the window).
    for shape in SHAPES:
        if padding == "valid" and (shape[1] < pool[0] or shape[2] < pool[1]):
            continue
        check_pooling(rng, shape, pool, stride, padding, dtype)


@pytest.mark.parametrize("padding", ["same", "SAME", "Same"])
@pytest.mark.parametrize("case", [((2, 2), (3, 3), (1, 1)),   # 3x3 windows over a 2x2 image
                                  ((1, 3), (3, 5), (2, 2)),   # window wider and taller
                                  ((3, 2), (5, 4), (5, 4))])  # one output from a partial window
def test_windows_larger_than_the_input(backend, rng, case, padding):
    size, pool, stride = case
    for dtype in (np.float32, np.float64):
        check_pooling(rng, (2, *size, 7), pool, stride, padding, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 7, 7, 19), (1, 1, 1, 4), (3, 4, 9, 64)])
def test_global_pooling_matches_adaptive_pools(backend, rng, shape, dtype):
    # Global pooling = one window of the whole image, stride the whole image.
    x = rng.standard_normal(shape).astype(dtype)
    window = shape[1:3]
    out, argmax = _ops.pool2d_forward(x, window, window, ((0, 0), (0, 0)), "max")
    g = rng.standard_normal(out.shape).astype(dtype)
    t = to_torch(x).requires_grad_(True)
    ref, idx = F.adaptive_max_pool2d(t, 1, return_indices=True)
    ref.backward(to_torch(g))
    np.testing.assert_array_equal(out, to_nhwc(ref))
    np.testing.assert_array_equal(argmax, to_nhwc(idx.to(torch.int32)))
    np.testing.assert_array_equal(
        _ops.pool2d_backward(g, argmax, shape, window, window, ((0, 0), (0, 0)), "max"),
        to_nhwc(t.grad))

    avg, _ = _ops.pool2d_forward(x, window, window, ((0, 0), (0, 0)), "average")
    t64 = to_torch(x.astype(np.float64)).requires_grad_(True)
    ref_avg = F.adaptive_avg_pool2d(t64, 1)
    ref_avg.backward(to_torch(g.astype(np.float64)))
    assert_close(avg, to_nhwc(ref_avg), dtype)
    assert_close(_ops.pool2d_backward(g, None, shape, window, window, ((0, 0), (0, 0)), "average"),
                 to_nhwc(t64.grad), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_book_model_shapes_use_threads(rng, dtype):
    # The CNNs' pooling layers at batch 32 (large enough for an OpenMP team).
    for shape in [(32, 28, 28, 64), (32, 14, 14, 128), (32, 7, 7, 256), (32, 28, 28, 6)]:
        check_pooling(rng, shape, (2, 2), (2, 2), "valid", dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_level(simd_level, rng, dtype):
    for shape in [(2, 9, 8, 37), (1, 6, 7, 16), (3, 5, 4, 8), (1, 3, 3, 1)]:
        for pool, stride in [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((3, 3), (2, 1))]:
            for padding in ("valid", "same"):
                check_pooling(rng, shape, pool, stride, padding, dtype)


def test_ties_go_to_the_first_maximum(backend):
    # Each 2x2 window holds its maximum twice (distinct values elsewhere): the first one in
    # row-major order takes the argmax and the whole gradient, as in torch (and Keras).
    x = np.array([[5, 1, 2, 7],
                  [5, 3, 7, 0],
                  [4, 9, 6, 8],
                  [9, -1, 8, 3]], np.float32).reshape(1, 4, 4, 1)
    out, argmax = _ops.pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "max")
    np.testing.assert_array_equal(out[0, :, :, 0], [[5, 7], [9, 8]])
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[0, 3], [9, 11]])
    dx = _ops.pool2d_backward(np.ones_like(out), argmax, x.shape, (2, 2), (2, 2),
                              ((0, 0), (0, 0)), "max")
    np.testing.assert_array_equal(dx, max_reference(x, (2, 2), (2, 2), ((0, 0), (0, 0)),
                                                    np.ones_like(out))[2])
    assert dx.sum() == 4 and dx[0, 0, 0, 0] == 1 and dx[0, 1, 0, 0] == 0


def test_nan_propagates_like_torch(backend):
    x = np.arange(32, dtype=np.float64).reshape(1, 4, 4, 2)
    x[0, 1, 1, 0] = np.nan
    x[0, 2, 3, 1] = np.nan
    out, argmax = _ops.pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "max")
    ref = F.max_pool2d(to_torch(x), 2)
    np.testing.assert_array_equal(out, to_nhwc(ref))  # NaN where the window holds one
    assert np.isnan(out[0, 0, 0, 0]) and np.isnan(out[0, 1, 1, 1])
    assert argmax[0, 0, 0, 0] == 5 and argmax[0, 1, 1, 1] == 11
    avg, _ = _ops.pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "average")
    assert np.isnan(avg[0, 0, 0, 0]) and np.isfinite(avg[0, 0, 1, 0])


def test_minus_infinity_and_strided_skips(backend):
    # All -inf windows still take their first element; with strides larger than the window,
    # skipped input elements get a zero gradient.
    x = np.full((1, 5, 5, 3), -np.inf, np.float32)
    out, argmax = _ops.pool2d_forward(x, (1, 1), (3, 3), ((0, 0), (0, 0)), "max")
    assert out.shape == (1, 2, 2, 3) and np.all(out == -np.inf)
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[0, 3], [15, 18]])
    dx = _ops.pool2d_backward(np.ones_like(out), argmax, x.shape, (1, 1), (3, 3),
                              ((0, 0), (0, 0)), "max")
    assert dx.sum() == 12 and dx[0, 1, 1].sum() == 0


def test_empty_batch(backend):
    x = np.zeros((0, 4, 4, 3), np.float32)
    for mode in _ops.pool2d.MODES:
        out, argmax = _ops.pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), mode)
        assert out.shape == (0, 2, 2, 3)
        dx = _ops.pool2d_backward(out, argmax, x.shape, (2, 2), (2, 2), ((0, 0), (0, 0)), mode)
        assert dx.shape == x.shape


def test_out_buffers_are_written_and_returned(backend, rng):
    x = rng.standard_normal((2, 4, 4, 3))
    out, argmax = np.full((2, 2, 2, 3), np.nan), np.full((2, 2, 2, 3), -1, np.int32)
    got, got_arg = _ops.pool2d_forward(x, 2, 2, ((0, 0), (0, 0)), "max", out=out, argmax=argmax)
    assert got is out and got_arg is argmax
    np.testing.assert_array_equal(out, max_reference(x, (2, 2), (2, 2), ((0, 0), (0, 0)),
                                                     np.zeros_like(out))[0])


@pytest.mark.parametrize("padding,expected", [
    ("valid", ((0, 0), (0, 0))), ("VALID", ((0, 0), (0, 0))),
    ("same", ((0, 1), (1, 1))),  # h: total 1 (extra at the bottom); w: total 2
])
def test_paddings_follow_tensorflow(padding, expected):
    assert _ops.pool2d_paddings((7, 7), (2, 3), (2, 1), padding) == expected


def test_bad_input_is_rejected():
    x = np.zeros((2, 4, 4, 3), np.float32)
    none = ((0, 0), (0, 0))
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        _ops.pool2d_forward(x.astype(np.int64), 2, 2, none, "max")
    with pytest.raises(ValueError, match="x must be a 4-D array"):
        _ops.pool2d_forward(np.zeros((4, 4, 3)), 2, 2, none, "max")
    with pytest.raises(ValueError, match="C-contiguous"):
        _ops.pool2d_forward(x.transpose(0, 2, 1, 3), 2, 2, none, "max")
    with pytest.raises(ValueError, match="paddings along height must be in \\[0, pool size\\)"):
        _ops.pool2d_forward(x, 2, 2, ((2, 0), (0, 0)), "max")
    with pytest.raises(ValueError, match="paddings along width"):
        _ops.pool2d_forward(x, 2, 2, ((0, 0), (0, -1)), "average")
    with pytest.raises(ValueError, match="window along height \\(5\\) is larger than the padded"):
        _ops.pool2d_forward(x, 5, 1, none, "max")
    with pytest.raises(ValueError, match="strides must be a positive int or a pair"):
        _ops.pool2d_forward(x, 2, (1, 0), none, "max")
    with pytest.raises(ValueError, match="pool_size must be a positive int or a pair"):
        _ops.pool2d_forward(x, (2, 2, 2), 1, none, "max")
    out = np.zeros((2, 2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="stride along width must be >= 1"):
        _cpu.pool2d_forward(x, out, None, (2, 2), (2, 0), none, "average")
    with pytest.raises(ValueError, match="pool size along height must be >= 1"):
        _cpu.pool2d_forward(x, out, None, (0, 2), (2, 2), none, "average")
    with pytest.raises(ValueError, match="unknown pooling mode"):
        _ops.pool2d_forward(x, 2, 2, none, "min")
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        _ops.pool2d_paddings((4, 4), 2, 2, "full")
    with pytest.raises(ValueError, match="out has the wrong shape"):
        _ops.pool2d_forward(x, 2, 2, none, "max", out=np.zeros((2, 3, 3, 3), np.float32))
    with pytest.raises(TypeError, match="out must have dtype f32"):
        _ops.pool2d_forward(x, 2, 2, none, "max", out=np.zeros((2, 2, 2, 3)))
    with pytest.raises(TypeError, match="argmax must have dtype i32"):
        _ops.pool2d_forward(x, 2, 2, none, "max", argmax=np.zeros((2, 2, 2, 3), np.int64))
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        _ops.pool2d_forward(x, 2, 2, none, "max", argmax=[0])
    with pytest.raises(ValueError, match="image must have at least one row"):
        _ops.pool2d_forward(np.zeros((1, 0, 4, 3)), 1, 1, none, "average")
    with pytest.raises(ValueError, match="at least one channel"):
        _ops.pool2d_forward(np.zeros((1, 4, 4, 0)), 1, 1, none, "average")

    out, argmax = _ops.pool2d_forward(x, 2, 2, none, "max")
    with pytest.raises(ValueError, match="grad_out must have shape \\(2, 2, 2, 3\\)"):
        _ops.pool2d_backward(np.zeros((2, 3, 2, 3), np.float32), argmax, x.shape, 2, 2, none, "max")
    with pytest.raises(ValueError, match="argmax must have shape"):
        _ops.pool2d_backward(out, argmax[:1], x.shape, 2, 2, none, "max")
    with pytest.raises(TypeError, match="argmax must have dtype i32"):
        _ops.pool2d_backward(out, argmax.astype(np.float32), x.shape, 2, 2, none, "max")
    with pytest.raises(ValueError, match="max pooling needs the argmax"):
        _ops.pool2d_backward(out, None, x.shape, 2, 2, none, "max")
    with pytest.raises(ValueError, match="argmax must be None for average"):
        _ops.pool2d_backward(out, argmax, x.shape, 2, 2, none, "average")
    with pytest.raises(ValueError, match="grad_out must be 4-D"):
        _ops.pool2d_backward(out[0], None, x.shape, 2, 2, none, "average")
    with pytest.raises(ValueError, match="input_shape must have 4 entries"):
        _ops.pool2d_backward(out, None, (4, 4, 3), 2, 2, none, "average")
    with pytest.raises(TypeError, match="dx must have the dtype of grad_out"):
        _cpu.pool2d_backward(out, None, np.zeros(x.shape), (2, 2), (2, 2), none, "average")
    with pytest.raises(ValueError, match="dx must not be grad_out"):
        _cpu.pool2d_backward(out, None, out, (1, 1), (1, 1), none, "average")
    with pytest.raises(ValueError, match="out must not be x"):
        _cpu.pool2d_forward(x, x, None, (1, 1), (1, 1), none, "average")
    with pytest.raises(TypeError):
        _cpu.pool2d_forward(x, out, argmax, (2, 2), (2, 2), ((0, 0),), "max")
