"""The softmax_xent op family (cpp/softmax_xent.*, cuda/softmax_xent.cu) against PyTorch's
cross_entropy and autograd in float64, on the CPU and the CUDA kernels under emulation (the
`backend` fixture), at every SIMD level: sparse and categorical labels, large logits, batch 1,
one class, the empty batch, NaN, out-of-range labels and bad input.
"""
from functools import partial

import numpy as np
import pytest
import torch

from turbolearn import _ops

import kernel_checks

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
SHAPES = [(1, 1), (1, 10), (7, 3), (37, 10), (64, 33), (5, 100)]
assert_close = partial(kernel_checks.assert_close, rtol=RTOL)


def reference(logits, labels, grad_loss):
    """(loss, probs, dlogits) by torch in float64."""
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    target = (torch.tensor(labels, dtype=torch.int64) if labels.ndim == 1
              else torch.tensor(labels, dtype=torch.float64))
    loss = torch.nn.functional.cross_entropy(z, target, reduction="none")
    loss.backward(torch.tensor(grad_loss, dtype=torch.float64))
    return loss.detach().numpy(), torch.softmax(z, 1).detach().numpy(), z.grad.numpy()


def problem(rng, shape, dtype, sparse, scale=3.0):
    n, k = shape
    logits = (scale * rng.standard_normal((n, k))).astype(dtype)
    if sparse:
        labels = rng.integers(0, k, n)
    else:
        labels = rng.random((n, k)).astype(dtype)
        labels /= labels.sum(1, keepdims=True)
    return logits, labels, rng.standard_normal(n).astype(dtype)


def check(logits, labels, grad_loss, dtype):
    ref_loss, ref_probs, ref_grad = reference(logits, labels, grad_loss)
    loss, probs = _ops.softmax_xent_forward(logits, labels)
    assert_close(loss, ref_loss, dtype)
    assert_close(probs, ref_probs, dtype)
    assert_close(_ops.softmax_xent_backward(probs, labels, grad_loss), ref_grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch(backend, rng, dtype, sparse, shape):
    check(*problem(rng, shape, dtype, sparse), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_simd_level(simd_level, rng, dtype):
    for sparse in (True, False):
        for shape in [(33, 10), (50, 37), (3, 1000)]:
            check(*problem(rng, shape, dtype, sparse), dtype)


def test_large_batch_uses_threads_and_matches(rng):
    for sparse in (True, False):
        check(*problem(rng, (20000, 10), np.float32, sparse), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_for_huge_logits(backend, rng, dtype):
    logits, labels, grad = problem(rng, (16, 10), dtype, True, scale=1e4)
    loss, probs = _ops.softmax_xent_forward(logits, labels)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(probs))
    check(logits, labels, grad, dtype)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64])
def test_any_integer_label_dtype(backend, rng, label_dtype):
    logits, labels, grad = problem(rng, (12, 5), np.float64, True)
    check(logits, labels.astype(label_dtype), grad, np.float64)


def test_out_of_range_labels_raise(backend):
    logits = np.zeros((4, 5), np.float32)
    for bad in (5, -1, 1 << 40):
        labels = np.array([0, 1, bad, 3])
        with pytest.raises(ValueError, match=rf"label {bad} of sample 2 is out of range \[0, 5\)"):
            _ops.softmax_xent_forward(logits, labels)
        with pytest.raises(ValueError, match=rf"label {bad} of sample 2 is out of range"):
            _ops.softmax_xent_backward(logits, labels, np.ones(4, np.float32))


def test_empty_batch_and_one_class(backend):
    loss, probs = _ops.softmax_xent_forward(np.zeros((0, 3)), np.zeros(0, np.int64))
    assert loss.shape == (0,) and probs.shape == (0, 3)
    assert _ops.softmax_xent_backward(probs, np.zeros(0, np.int64), loss).shape == (0, 3)
    loss, probs = _ops.softmax_xent_forward(np.array([[2.0], [-7.0]]), np.array([0, 0]))
    np.testing.assert_array_equal(loss, [0, 0])
    np.testing.assert_array_equal(probs, [[1], [1]])


def test_nan_propagates(backend):
    logits = np.array([[np.nan, 1.0, 2.0], [0.0, 1.0, 2.0]])
    loss, probs = _ops.softmax_xent_forward(logits, np.array([1, 1]))
    assert np.isnan(loss[0]) and np.all(np.isnan(probs[0]))
    assert np.isfinite(loss[1]) and np.all(np.isfinite(probs[1]))


def test_bad_input_is_rejected():
    logits = np.zeros((4, 3))
    with pytest.raises(TypeError, match="labels must have the dtype of logits"):
        _ops.softmax_xent_forward(logits, np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="labels must have shape"):
        _ops.softmax_xent_forward(logits, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="integer labels must have shape"):
        _ops.softmax_xent_forward(logits, np.zeros(5, np.int64))
    with pytest.raises(TypeError, match="labels must be int64 class indices or float"):
        _ops.softmax_xent_forward(logits, np.zeros(4, bool))
    with pytest.raises(ValueError, match="C-contiguous"):
        _ops.softmax_xent_forward(np.asfortranarray(np.zeros((4, 3))), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="at least one class"):
        _ops.softmax_xent_forward(np.zeros((4, 0)), np.zeros(4, np.int64))
    with pytest.raises(TypeError, match="logits must be float32 or float64"):
        _ops.softmax_xent_forward(np.zeros((4, 3), np.int32), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="grad_loss must have shape"):
        _ops.softmax_xent_backward(logits, np.zeros(4, np.int64), np.zeros(3))
    with pytest.raises(TypeError, match="grad_loss must have the dtype of probs"):
        _ops.softmax_xent_backward(logits, np.zeros(4, np.int64), np.zeros(4, np.float32))
