"""The dense op family (cpp/dense.*, cuda/dense.cu) against PyTorch autograd in float64, on the
CPU and the CUDA kernels under emulation (the `backend` fixture), at every SIMD level.

Forward and every gradient, every fused activation, with and without bias, need_dx off, batch
1, sizes that are multiples of no vector width, the empty batch, NaN, and bad input.
Tolerances: rtol 1e-5 (float32) or 1e-12 (float64), with an absolute term of the same size
times the largest reference value (GEMM sums lose digits relative to the largest terms).
"""
from functools import partial

import numpy as np
import pytest
import torch

from turbolearn import _ops

import kernel_checks
from kernel_checks import torch_activation

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
ACTIVATIONS = _ops.FUSED_ACTIVATIONS
SHAPES = [(1, 1, 1), (1, 7, 3), (13, 5, 9), (37, 33, 17), (64, 100, 10)]
assert_close = partial(kernel_checks.assert_close, rtol=RTOL)


def reference(x, kernel, bias, activation, grad_out):
    """(out, dx, dkernel, dbias) by torch autograd in float64."""
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(kernel, dtype=torch.float64, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    z = tx @ tw if tb is None else tx @ tw + tb
    out = torch_activation(z, activation)
    out.backward(torch.tensor(grad_out, dtype=torch.float64))
    return (out.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
            None if tb is None else tb.grad.numpy())


def problem(rng, shape, dtype, bias=True):
    n, d_in, d_out = shape
    x = rng.standard_normal((n, d_in)).astype(dtype)
    kernel = (rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)).astype(dtype)
    b = rng.standard_normal(d_out).astype(dtype) if bias else None
    grad_out = rng.standard_normal((n, d_out)).astype(dtype)
    return x, kernel, b, grad_out


def check_layer(x, kernel, bias, activation, grad_out, dtype):
    ref_out, ref_dx, ref_dk, ref_db = reference(x, kernel, bias, activation, grad_out)
    out = _ops.dense_forward(x, kernel, bias, activation)
    assert_close(out, ref_out, dtype)
    # The backward pass is given our own forward output, as a layer gives it.
    dx, dk, db = _ops.dense_backward(x, kernel, out, grad_out, activation,
                                     has_bias=bias is not None, need_dx=True)
    assert_close(dx, ref_dx, dtype)
    assert_close(dk, ref_dk, dtype)
    if bias is None:
        assert db is None
    else:
        assert_close(db, ref_db, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch_autograd(backend, rng, dtype, activation, shape):
    x, kernel, bias, grad_out = problem(rng, shape, dtype)
    check_layer(x, kernel, bias, activation, grad_out, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_without_bias(backend, rng, dtype, activation):
    x, kernel, _, grad_out = problem(rng, (19, 23, 11), dtype, bias=False)
    check_layer(x, kernel, None, activation, grad_out, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "softmax", "tanh"])
def test_mlp_layer_shapes(rng, dtype, activation):
    # The 784-300-100-10 MLP's first layer at batch 32 and a batch large enough for threads.
    for n in (32, 1500):
        x, kernel, bias, grad_out = problem(rng, (n, 784, 300), dtype)
        check_layer(x, kernel, bias, activation, grad_out, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_level(simd_level, rng, dtype):
    # (75, 9, 6): rows of 6 go through the epilogue and delta passes in blocks of 10 rows,
    # 7 blocks and 5 rows left over
    for shape in [(21, 37, 45), (75, 9, 6)]:
        for activation in ACTIVATIONS:
            x, kernel, bias, grad_out = problem(rng, shape, dtype)
            check_layer(x, kernel, bias, activation, grad_out, dtype)


def test_need_dx_false_returns_none(backend, rng):
    x, kernel, bias, grad_out = problem(rng, (9, 6, 4), np.float64)
    out = _ops.dense_forward(x, kernel, bias, "relu")
    dx, dk, db = _ops.dense_backward(x, kernel, out, grad_out, "relu", has_bias=True, need_dx=False)
    assert dx is None
    _, _, ref_dk, ref_db = reference(x, kernel, bias, "relu", grad_out)
    assert_close(dk, ref_dk, np.float64)
    assert_close(db, ref_db, np.float64)


def test_out_buffer_is_written_and_returned(backend, rng):
    x, kernel, bias, _ = problem(rng, (10, 8, 6), np.float32)
    out = np.full((10, 6), np.nan, np.float32)
    assert _ops.dense_forward(x, kernel, bias, "sigmoid", out=out) is out
    assert_close(out, reference(x, kernel, bias, "sigmoid", np.zeros((10, 6)))[0], np.float32)


@pytest.mark.parametrize("activation", ["relu", "softmax", "linear"])
def test_empty_batch(backend, activation):
    x, kernel, bias = np.zeros((0, 5)), np.ones((5, 3)), np.ones(3)
    out = _ops.dense_forward(x, kernel, bias, activation)
    assert out.shape == (0, 3)
    dx, dk, db = _ops.dense_backward(x, kernel, out, np.zeros((0, 3)), activation, has_bias=True,
                                     need_dx=True)
    assert dx.shape == (0, 5)
    np.testing.assert_array_equal(dk, np.zeros((5, 3)))
    np.testing.assert_array_equal(db, np.zeros(3))


def test_nan_propagates(backend):
    x = np.array([[np.nan, 1.0], [1.0, 2.0]])
    kernel = np.array([[1.0, -1.0, 0.5], [0.5, 0.25, -1.0]])
    for activation in ACTIVATIONS:
        out = _ops.dense_forward(x, kernel, None, activation)
        assert np.all(np.isnan(out[0])), activation
        assert np.all(np.isfinite(out[1])), activation


def test_softmax_is_stable_for_large_logits(backend):
    x = np.array([[1.0], [-1.0]], np.float32)
    kernel = np.array([[1000.0, 999.0, -1000.0]], np.float32)
    out = _ops.dense_forward(x, kernel, None, "softmax")
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-6)


def test_bad_input_is_rejected():
    x, kernel, bias = np.zeros((4, 3)), np.zeros((3, 2)), np.zeros(2)
    out = np.zeros((4, 2))
    with pytest.raises(TypeError, match="kernel must have the dtype of x"):
        _ops.dense_forward(x, kernel.astype(np.float32), bias, "relu")
    with pytest.raises(TypeError, match="bias must have the dtype of x"):
        _ops.dense_forward(x, kernel, bias.astype(np.float32), "relu")
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        _ops.dense_forward(x.astype(np.int64), kernel, bias, "relu")
    with pytest.raises(ValueError, match="kernel must have 3 rows"):
        _ops.dense_forward(x, np.zeros((4, 2)), bias, "relu")
    with pytest.raises(ValueError, match="bias must have shape"):
        _ops.dense_forward(x, kernel, np.zeros(3), "relu")
    with pytest.raises(ValueError, match="C-contiguous"):
        _ops.dense_forward(np.asfortranarray(np.zeros((4, 3))), kernel, bias, "relu")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        _ops.dense_forward(x, kernel, bias, "gelu")
    with pytest.raises(ValueError, match="2-D"):
        _ops.dense_forward(np.zeros(3), kernel, bias, "relu")
    with pytest.raises(ValueError, match="out has the wrong shape"):
        _ops.dense_forward(x, kernel, bias, "relu", out=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="at least one column"):
        _ops.dense_forward(x, np.zeros((3, 0)), None, "relu")
    with pytest.raises(TypeError, match="NumPy or CuPy array"):
        _ops.dense_forward(x.tolist(), kernel, bias, "relu")
    with pytest.raises(ValueError, match="grad_out must have shape"):
        _ops.dense_backward(x, kernel, out, np.zeros((4, 3)), "relu", has_bias=True, need_dx=True)
    with pytest.raises(TypeError, match="out must have the dtype of x"):
        _ops.dense_backward(x, kernel, out.astype(np.float32), out, "relu", has_bias=True,
                            need_dx=True)
    with pytest.raises(ValueError, match="unknown activation"):
        _ops.dense_backward(x, kernel, out, out, "Relu", has_bias=False, need_dx=False)
