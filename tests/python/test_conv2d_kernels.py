"""The conv2d op family (cpp/conv2d.*, cuda/conv2d.cu) against PyTorch autograd in float64, on the
CPU and the CUDA kernels under emulation (the `backend` fixture), at every SIMD level.

Layouts are converted (NHWC <-> NCHW, kernels (kh, kw, c/groups, f) <-> (f, c/groups, kh, kw))
and the explicit paddings are applied with F.pad (a negative pad crops), so the reference
covers everything the kernels accept. Transposed convolution is checked against
F.conv_transpose2d where torch can express the padding, and everywhere against the vector-
Jacobian product of the convolution it transposes (torch autograd, differentiated again for its
gradients). The grid: strides 1-3, dilations 1-2, groups (and depthwise), odd and even sizes,
'valid' / 'same' (asymmetric same: the extra pixel bottom/right) and causal paddings, channel
counts that are multiples of no vector width, batch 1, kernels larger than the input ('same'),
1x1 kernels (the plain-GEMM path), shapes the AVX-512 direct loops take (filter and channel
tails, several filter and pixel blocks), every fused activation, float32 and float64.
Tolerances: rtol 1e-5 (float32) or 1e-11 (float64), with an absolute term of the same size
times the largest reference value (sums of products lose digits relative to the largest terms).
"""
from functools import partial

import numpy as np
import pytest
import torch

from turbolearn import _ops

import kernel_checks
from kernel_checks import torch_activation

F = torch.nn.functional
RTOL = {np.float32: 1e-5, np.float64: 1e-11}
assert_close = partial(kernel_checks.assert_close, rtol=RTOL)


def nchw(a):
    return torch.tensor(a, dtype=torch.float64).permute(0, 3, 1, 2)


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).numpy()


def torch_kernel(kernel):
    return torch.tensor(kernel, dtype=torch.float64).permute(3, 2, 0, 1)  # (f, c/g, kh, kw)


def torch_conv(tx, tk, strides, padding, dilation, groups):
    (top, bottom), (left, right) = padding
    return F.conv2d(F.pad(tx, (left, right, top, bottom)), tk, stride=strides, dilation=dilation,
                    groups=groups)


def leaves(x, kernel, bias):
    """x (NCHW), the kernel ((f, c/g, kh, kw)) and the bias (or None) as float64 torch leaves."""
    tb = None if bias is None else torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    # contiguous: torch's slow_conv2d (some small-channel shapes) refuses a strided grad_weight
    return (nchw(x).requires_grad_(True), torch_kernel(kernel).contiguous().requires_grad_(True),
            tb)


def backward_through(z, tx, tk, tb, activation, grad_out):
    """(out, dx, dkernel, dbias) in our layouts of activation(z + bias), by torch autograd."""
    if tb is not None:
        z = z + tb.reshape(1, -1, 1, 1)
    out = torch_activation(z, activation)
    out.backward(nchw(grad_out))
    return (nhwc(out), nhwc(tx.grad), tk.grad.permute(2, 3, 1, 0).numpy(),
            None if tb is None else tb.grad.numpy())


def reference(x, kernel, bias, strides, padding, dilation, groups, activation, grad_out):
    """(out, dx, dkernel, dbias) of the convolution by torch autograd in float64."""
    tx, tk, tb = leaves(x, kernel, bias)
    z = torch_conv(tx, tk, strides, padding, dilation, groups)
    return backward_through(z, tx, tk, tb, activation, grad_out)


def transpose_reference(x, kernel, bias, out_shape, strides, padding, dilation, groups,
                        activation, grad_out):
    """(out, dx, dkernel, dbias) of the transposed convolution: the vector-Jacobian product of
    the convolution from out_shape to x's shape, differentiated again by torch autograd."""
    tx, tk, tb = leaves(x, kernel, bias)
    n, h, w, c = out_shape
    probe = torch.zeros((n, c, h, w), dtype=torch.float64, requires_grad=True)
    z_conv = torch_conv(probe, tk, strides, padding, dilation, groups)
    (z,) = torch.autograd.grad(z_conv, probe, grad_outputs=tx, create_graph=True)
    return backward_through(z, tx, tk, tb, activation, grad_out)


def explicit_padding(h, w, kh, kw, strides, dilation, padding):
    if not isinstance(padding, str):
        return padding
    return (_ops.conv_padding(h, kh, strides[0], dilation[0], padding),
            _ops.conv_padding(w, kw, strides[1], dilation[1], padding))


def problem(rng, case, dtype, bias=True):
    n, h, w, c, kh, kw, f, groups = case[:8]
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = (rng.standard_normal((kh, kw, c // groups, f)) / np.sqrt(kh * kw * c // groups)
              ).astype(dtype)
    b = rng.standard_normal(f).astype(dtype) if bias else None
    return x, kernel, b


def check_conv(rng, case, dtype, activation, bias=True):
    n, h, w, c, kh, kw, f, groups, strides, dilation, padding = case
    x, kernel, b = problem(rng, case, dtype, bias)
    padding = explicit_padding(h, w, kh, kw, strides, dilation, padding)
    out = _ops.conv2d_forward(x, kernel, b, strides, padding, dilation, groups, activation)
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    ref_out, ref_dx, ref_dk, ref_db = reference(x, kernel, b, strides, padding, dilation, groups,
                                                activation, grad_out)
    assert_close(out, ref_out, dtype)
    # The backward pass is given our own forward output, as a layer gives it.
    dx, dk, db = _ops.conv2d_backward(x, kernel, out, grad_out, strides, padding, dilation,
                                      groups, activation, has_bias=bias, need_dx=True)
    assert_close(dx, ref_dx, dtype)
    assert_close(dk, ref_dk, dtype)
    if bias:
        assert_close(db, ref_db, dtype)
    else:
        assert db is None


def check_transpose(rng, case, dtype, activation, bias=True):
    """case describes the convolution transposed: from out (n, h, w, c) to x (n, oh, ow, f)."""
    n, h, w, c, kh, kw, f, groups, strides, dilation, padding = case
    padding = explicit_padding(h, w, kh, kw, strides, dilation, padding)
    oh = _ops.conv2d_output_size(h, kh, strides[0], dilation[0], *padding[0])
    ow = _ops.conv2d_output_size(w, kw, strides[1], dilation[1], *padding[1])
    x = rng.standard_normal((n, oh, ow, f)).astype(dtype)
    kernel = (rng.standard_normal((kh, kw, c // groups, f)) / np.sqrt(kh * kw * f // groups)
              ).astype(dtype)
    b = rng.standard_normal(c).astype(dtype) if bias else None
    out = _ops.conv2d_transpose_forward(x, kernel, b, (h, w), strides, padding, dilation, groups,
                                        activation)
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    ref = transpose_reference(x, kernel, b, (n, h, w, c), strides, padding, dilation, groups,
                              activation, grad_out)
    assert_close(out, ref[0], dtype)
    dx, dk, db = _ops.conv2d_transpose_backward(x, kernel, out, grad_out, strides, padding,
                                                dilation, groups, activation, has_bias=bias,
                                                need_dx=True)
    assert_close(dx, ref[1], dtype)
    assert_close(dk, ref[2], dtype)
    if bias:
        assert_close(db, ref[3], dtype)
    else:
        assert db is None


# (n, h, w, c, kh, kw, f, groups, strides, dilation, padding)
CASES = [
    (2, 7, 6, 5, 3, 3, 4, 1, (1, 1), (1, 1), "same"),
    (2, 7, 6, 5, 3, 3, 4, 1, (1, 1), (1, 1), "valid"),
    (1, 9, 8, 3, 2, 2, 7, 1, (1, 1), (1, 1), "same"),        # even kernel: pads 0 top, 1 bottom
    (3, 10, 11, 6, 3, 2, 9, 1, (2, 2), (1, 1), "same"),      # stride 2, odd/even sizes
    (2, 11, 9, 4, 3, 3, 5, 1, (3, 2), (1, 1), "same"),
    (2, 11, 10, 4, 3, 3, 5, 1, (3, 3), (1, 1), "valid"),
    (2, 9, 9, 5, 3, 3, 6, 1, (1, 1), (2, 2), "same"),        # dilation 2
    (1, 12, 10, 3, 3, 2, 4, 1, (1, 1), (2, 1), "valid"),
    (2, 8, 7, 6, 3, 3, 9, 3, (1, 1), (1, 1), "same"),        # groups
    (2, 8, 7, 12, 3, 3, 8, 4, (2, 2), (1, 1), "valid"),
    (2, 7, 8, 5, 3, 3, 5, 5, (1, 1), (1, 1), "same"),        # depthwise, multiplier 1
    (1, 9, 7, 3, 5, 3, 6, 3, (2, 1), (1, 1), "same"),        # depthwise, multiplier 2
    (1, 3, 4, 2, 5, 7, 3, 1, (1, 1), (1, 1), "same"),        # kernel larger than the input
    (2, 1, 13, 5, 1, 3, 6, 1, (1, 1), (1, 1), "valid"),      # Conv1D as a 1 x W convolution
    (2, 1, 13, 5, 1, 3, 6, 1, (1, 1), (1, 3), ((0, 0), (6, 0))),  # causal, dilation 3
    (3, 5, 6, 17, 1, 1, 19, 1, (1, 1), (1, 1), "valid"),     # 1x1: one GEMM, no im2col
    (2, 6, 7, 17, 1, 1, 19, 1, (2, 2), (1, 1), "valid"),     # 1x1 with stride: im2col
    (1, 6, 5, 4, 3, 3, 3, 1, (1, 1), (1, 1), ((2, 0), (-1, 1))),  # explicit, a negative pad
    # shapes the AVX-512 direct loops take (16+ filters and 4+ channels per group): one full
    # vector of filters, two filter blocks (64 + 16), 64 + 6, groups, pixel and channel tails
    (2, 9, 10, 24, 3, 3, 16, 1, (1, 1), (1, 1), "same"),
    (1, 11, 13, 19, 3, 3, 80, 1, (2, 2), (1, 1), "same"),
    (2, 10, 9, 17, 3, 2, 70, 1, (1, 1), (2, 1), "valid"),
    (2, 8, 8, 32, 3, 3, 48, 2, (1, 1), (1, 1), "same"),
    (1, 7, 30, 8, 5, 5, 64, 1, (1, 1), (1, 1), "same"),
    (1, 9, 8, 16, 2, 2, 32, 1, (1, 1), (1, 1), "same"),
    (1, 6, 7, 180, 3, 3, 190, 1, (1, 1), (1, 1), "same"),   # kernel rows in two chunks
    # strided data gradients by phases (taps r, r + s, ...; a phase no tap reaches with 1x1)
    (2, 14, 14, 16, 5, 5, 24, 1, (2, 2), (1, 1), ((1, 2), (1, 2))),  # DCGAN's transposes
    (1, 13, 12, 12, 3, 3, 20, 1, (3, 2), (1, 1), "same"),
    (2, 9, 8, 16, 1, 1, 32, 1, (2, 2), (1, 1), "valid"),    # ResNet's 1x1 shortcut
    (1, 12, 11, 16, 4, 3, 16, 2, (2, 3), (1, 1), "valid"),
    (2, 1, 20, 12, 1, 3, 16, 1, (1, 1), (1, 4), ((0, 0), (8, 0))),  # WaveNet: causal, dilated
    (1, 9, 10, 16, 3, 3, 24, 1, (1, 1), (2, 3), "same"),
    (1, 14, 13, 8, 3, 3, 16, 1, (1, 1), (2, 2), ((1, 1), (1, 1))),  # dilated, partly padded
    # the depthwise loops: vectors of channels and their tails, multipliers, strides
    (2, 9, 8, 21, 3, 3, 21, 21, (1, 1), (2, 2), "same"),
    (1, 8, 9, 18, 3, 2, 36, 18, (2, 2), (1, 1), "valid"),
    (1, 7, 7, 40, 3, 3, 40, 40, (2, 2), (1, 1), "same"),
]

# Sizes for the CPU's tiling (several im2col row tiles per image, several pixel blocks of the
# direct filter gradient): CPU only, the emulation would take minutes over them.
TILING_CASES = [
    (2, 28, 28, 20, 3, 3, 33, 1, (1, 1), (1, 1), "same"),
    (1, 40, 40, 64, 3, 3, 64, 1, (1, 1), (1, 1), "same"),
]


def case_id(case):
    n, h, w, c, kh, kw, f, groups, strides, dilation, padding = case
    return (f"n{n}-{h}x{w}x{c}-k{kh}x{kw}x{f}-g{groups}-s{strides[0]}{strides[1]}"
            f"-d{dilation[0]}{dilation[1]}-{padding if isinstance(padding, str) else 'explicit'}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_conv_matches_torch(backend, rng, dtype, case):
    check_conv(rng, case, dtype, "relu")
    check_conv(rng, case, dtype, "linear", bias=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TILING_CASES, ids=case_id)
def test_cpu_tiling(rng, dtype, case):
    check_conv(rng, case, dtype, "relu")
    check_transpose(rng, case, dtype, "linear")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_transpose_matches_torch(backend, rng, dtype, case):
    check_transpose(rng, case, dtype, "tanh")
    check_transpose(rng, case, dtype, "linear", bias=False)


@pytest.mark.parametrize("activation", _ops.FUSED_ACTIVATIONS)
def test_every_activation(backend, rng, activation):
    case = (2, 6, 5, 7, 3, 3, 6, 1, (1, 1), (1, 1), "same")
    check_conv(rng, case, np.float64, activation)
    check_transpose(rng, case, np.float64, activation)


@pytest.mark.parametrize("case", [(2, 5, 4, 3, 3, 3, 2, 1, (1, 1), 1, 0),
                                  (1, 4, 5, 6, 2, 3, 4, 2, (2, 1), 1, 1),
                                  (2, 7, 6, 4, 3, 3, 4, 1, (3, 2), 1, 1),
                                  (1, 5, 5, 3, 3, 3, 6, 3, (2, 2), (2, 2), 1)])
def test_transpose_matches_conv_transpose2d(backend, rng, case):
    # torch's own transposed convolution: padding p and output_padding op are the convolution
    # padded by p before and p - op after.
    n, h, w, f, kh, kw, c, groups, strides, dilation, p = case
    dilation = (dilation, dilation) if isinstance(dilation, int) else dilation
    x = rng.standard_normal((n, h, w, f))
    kernel = rng.standard_normal((kh, kw, c // groups, f))
    bias = rng.standard_normal(c)
    out_pad = (strides[0] - 1, strides[1] - 1)
    ref = F.conv_transpose2d(nchw(x), torch.tensor(kernel).permute(3, 2, 0, 1), torch.tensor(bias),
                             stride=strides, padding=p, output_padding=out_pad, groups=groups,
                             dilation=dilation)
    padding = ((p, p - out_pad[0]), (p, p - out_pad[1]))
    out = _ops.conv2d_transpose_forward(x, kernel, bias, ref.shape[2:], strides, padding, dilation,
                                        groups, "linear")
    assert_close(out, nhwc(ref), np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_level(simd_level, rng, dtype):
    for case in CASES + TILING_CASES:
        check_conv(rng, case, dtype, "elu")
    check_transpose(rng, CASES[3], dtype, "sigmoid")


def test_need_dx_false_returns_none(backend, rng):
    case = (2, 5, 6, 3, 3, 3, 4, 1, (1, 1), (1, 1), "same")
    x, kernel, bias = problem(rng, case, np.float64)
    pads = ((1, 1), (1, 1))
    out = _ops.conv2d_forward(x, kernel, bias, (1, 1), pads, (1, 1), 1, "relu")
    grad_out = rng.standard_normal(out.shape)
    dx, dk, db = _ops.conv2d_backward(x, kernel, out, grad_out, (1, 1), pads, (1, 1), 1, "relu",
                                      has_bias=True, need_dx=False)
    assert dx is None
    _, _, ref_dk, ref_db = reference(x, kernel, bias, (1, 1), pads, (1, 1), 1, "relu", grad_out)
    assert_close(dk, ref_dk, np.float64)
    assert_close(db, ref_db, np.float64)


def test_out_buffer_is_written_and_returned(backend, rng):
    x, kernel, bias = problem(rng, (2, 5, 6, 3, 3, 3, 4, 1), np.float32)
    out = np.full((2, 3, 4, 4), np.nan, np.float32)
    pads = ((0, 0), (0, 0))
    assert _ops.conv2d_forward(x, kernel, bias, (1, 1), pads, (1, 1), 1, "sigmoid", out=out) is out
    ref = reference(x, kernel, bias, (1, 1), pads, (1, 1), 1, "sigmoid", np.zeros(out.shape))[0]
    assert_close(out, ref, np.float32)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_empty_batch(backend, kernel_size):
    x = np.zeros((0, 5, 4, 3))
    kernel = np.ones((kernel_size, kernel_size, 3, 2))
    pads = ((kernel_size // 2,) * 2,) * 2
    out = _ops.conv2d_forward(x, kernel, np.ones(2), (1, 1), pads, (1, 1), 1, "relu")
    assert out.shape == (0, 5, 4, 2)
    dx, dk, db = _ops.conv2d_backward(x, kernel, out, np.zeros(out.shape), (1, 1), pads, (1, 1),
                                      1, "relu", has_bias=True, need_dx=True)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dk, np.zeros(kernel.shape))
    np.testing.assert_array_equal(db, np.zeros(2))
    y = _ops.conv2d_transpose_forward(out, kernel, np.ones(3), (5, 4), (1, 1), pads, (1, 1), 1,
                                      "relu")
    assert y.shape == (0, 5, 4, 3)
    dx, dk, db = _ops.conv2d_transpose_backward(out, kernel, y, np.zeros(y.shape), (1, 1), pads,
                                                (1, 1), 1, "relu", has_bias=True, need_dx=True)
    assert dx.shape == out.shape
    np.testing.assert_array_equal(dk, np.zeros(kernel.shape))
    np.testing.assert_array_equal(db, np.zeros(3))


def test_nan_stays_in_its_receptive_field(backend):
    x = np.ones((1, 9, 9, 2))
    x[0, 4, 4, 1] = np.nan
    kernel = np.full((3, 3, 2, 3), 0.1)
    for activation in _ops.FUSED_ACTIVATIONS:
        out = _ops.conv2d_forward(x, kernel, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, activation)
        nan = np.isnan(out[0]).any(axis=-1)
        expected = np.zeros((9, 9), bool)
        expected[3:6, 3:6] = True
        np.testing.assert_array_equal(nan, expected, err_msg=activation)


def test_bad_input_is_rejected():
    x, kernel, bias = np.zeros((2, 5, 5, 3)), np.zeros((3, 3, 3, 4)), np.zeros(4)
    ok = dict(strides=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1,
              activation="relu")

    def forward(x=x, kernel=kernel, bias=bias, out=None, **kw):
        return _ops.conv2d_forward(x, kernel, bias, **{**ok, **kw}, out=out)

    with pytest.raises(TypeError, match="kernel must have the dtype of x"):
        forward(kernel=kernel.astype(np.float32))
    with pytest.raises(TypeError, match="bias must have the dtype of x"):
        forward(bias=bias.astype(np.float32))
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        forward(x=x.astype(np.int32))
    with pytest.raises(ValueError, match="x must be a 4-D array"):
        forward(x=np.zeros((5, 5, 3)))
    with pytest.raises(ValueError, match=r"kernel must have shape \(kh, kw, 3, filters\)"):
        forward(kernel=np.zeros((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="bias must have shape"):
        forward(bias=np.zeros(3))
    with pytest.raises(ValueError, match="C-contiguous"):
        forward(x=np.zeros((2, 5, 3, 5)).transpose(0, 1, 3, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        forward(groups=2)
    with pytest.raises(ValueError, match="groups must be >= 1"):
        forward(groups=0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        forward(strides=(1, 0))
    with pytest.raises(ValueError, match="dilation rate must be >= 1"):
        forward(dilation=(0, 1))
    with pytest.raises(ValueError, match="the output would be empty"):
        forward(kernel=np.zeros((7, 3, 3, 4)), padding=((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        forward(activation="gelu")
    with pytest.raises(ValueError, match="strides must be a pair"):
        forward(strides=1)
    with pytest.raises(ValueError, match="padding must be"):
        forward(padding="same")
    with pytest.raises(ValueError, match="out must have shape"):
        forward(out=np.zeros((2, 5, 5, 3)))
    with pytest.raises(ValueError, match="writeable"):
        out = np.zeros((2, 5, 5, 4))
        out.flags.writeable = False
        forward(out=out)
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        forward(x=x.tolist())
    out = forward()
    with pytest.raises(ValueError, match="grad_out must have shape"):
        _ops.conv2d_backward(x, kernel, out, np.zeros((2, 5, 5, 3)), **ok, has_bias=True,
                             need_dx=True)
    with pytest.raises(TypeError, match="out must have the dtype of x"):
        _ops.conv2d_backward(x, kernel, out.astype(np.float32), out, **ok, has_bias=True,
                             need_dx=True)
    with pytest.raises(ValueError, match="x has shape .* maps out's shape"):
        _ops.conv2d_transpose_forward(np.zeros((2, 4, 5, 4)), kernel, None, (5, 5),
                                      **{**ok, "activation": "linear"})
    with pytest.raises(ValueError, match="out must have the batch size of x"):
        _ops.conv2d_transpose_forward(out, kernel, None, (5, 5), **ok,
                                      out=np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="padding must be 'valid', 'same' or 'causal'"):
        _ops.conv_padding(5, 3, 1, 1, "full")


SAME3, VALID = ((1, 1), (1, 1)), ((0, 0), (0, 0))


def algorithm_choice(kernel, strides=(1, 1), padding=SAME3, groups=1):
    x = np.zeros((2, 8, 8, 16), np.float32)
    return _ops.conv2d_algorithms(x, np.zeros(kernel, np.float32), strides, padding, (1, 1), groups)


def test_algorithm_choice():
    """The per-shape choice the tests above rely on to reach every path."""
    assert algorithm_choice((1, 1, 16, 8), padding=VALID) == dict.fromkeys(
        ("forward", "filter", "data"), "gemm")
    assert algorithm_choice((8, 8, 16, 8), padding=VALID)["forward"] == "gemm"  # a dense layer
    assert algorithm_choice((3, 3, 1, 16), groups=16)["data"] == "depthwise"
    cropped = ((1, 1), (-1, 1))
    assert algorithm_choice((3, 3, 16, 8), padding=cropped)["forward"] == "im2col"
    with _ops.use_backend("cuda_emu"):
        assert algorithm_choice((3, 3, 16, 24))["forward"] == "im2col"


def test_algorithm_choice_at_every_simd_level(simd_level):
    """The direct and single-channel loops are AVX-512 only."""
    expected = "direct" if simd_level == "avx512" else "im2col"
    assert algorithm_choice((3, 3, 16, 24), strides=(2, 2)) == dict.fromkeys(
        ("forward", "filter", "data"), expected)
    gray = np.zeros((2, 8, 8, 1), np.float32)
    single = _ops.conv2d_algorithms(gray, np.zeros((5, 5, 1, 6), np.float32), (2, 1), SAME3,
                                    (1, 1), 1)
    expected = "single_channel" if simd_level == "avx512" else "im2col"
    scatter = "scatter" if simd_level == "avx512" else "im2col"
    assert single == {"forward": expected, "filter": expected, "data": scatter}
    lenet_c3 = _ops.conv2d_algorithms(np.zeros((2, 14, 14, 6), np.float32),
                                      np.zeros((5, 5, 6, 16), np.float32), (1, 1), VALID, (1, 1), 1)
    assert lenet_c3["data"] == scatter
    # few channels per group: the data gradient stays with im2col
    assert algorithm_choice((3, 3, 4, 24), groups=4)["data"] == "im2col"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [1, 5])
def test_few_channel_grid(rng, dtype, c):
    """Few input channels: with one, the single-channel loops forward and for the filter
    gradient (at most 8 filters; stride 2 along rows goes to the direct loops): filter blocks
    of 1-8, tap blocks of 1-3, rows of 1 to 2.5 vector pairs; with one or five, the scatter
    data gradient (dilation 1 along rows, else im2col). Strides and dilations along each
    axis."""
    import itertools
    for (sh, sw), (dh, dw), k, (h, w), padding, f in itertools.product(
            [(1, 1), (2, 1), (3, 1), (1, 2)], [(1, 1), (2, 1), (1, 2)], [1, 2, 4, 5],
            [(6, 5), (9, 37)], ["same", "valid", ((2, 1), (0, 3))], [1, 5, 8]):
        case = (2, h, w, c, k, k, f, 1, (sh, sw), (dh, dw), padding)
        pads = explicit_padding(h, w, k, k, (sh, sw), (dh, dw), padding)
        sizes = [_ops.conv2d_output_size(n, k, s, d, *p)
                 for n, s, d, p in zip((h, w), (sh, sw), (dh, dw), pads)]
        if min(sizes) < 1:
            continue
        check_conv(rng, case, dtype, "tanh")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_geometry_grid(rng, dtype):
    """Every combination of stride, dilation, kernel size, odd and even sizes, padding and
    groups, with enough channels (8+ per group) that every algorithm's path is reached."""
    import itertools
    paddings = ["same", "valid", ((0, 2), (1, 0)), ((2, 1), (0, 3))]
    for (s, d), k, (h, w), padding, groups in itertools.product(
            [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)], [1, 2, 3, 5], [(9, 8), (12, 13)], paddings,
            [1, 2]):
        c, f = 9 * groups, 16 * groups
        case = (2, h, w, c, k, k, f, groups, (s, s), (d, d), padding)
        pads = explicit_padding(h, w, k, k, (s, s), (d, d), padding)
        if min(_ops.conv2d_output_size(n, k, s, d, *p) for n, p in zip((h, w), pads)) < 1:
            continue
        check_conv(rng, case, dtype, "linear")
