"""The dense op family: a fully connected layer's forward and backward passes.

``out = activation(x @ kernel + bias)``: one GEMM and one fused epilogue pass (bias and
activation; softmax row-wise). The backward pass takes the activation's derivative from the
forward output, so a layer keeps only ``out``. Arrays are float32 or float64, C-contiguous,
2-D (bias 1-D), all NumPy (CPU kernels) or all CuPy (CUDA kernels); outputs come back on
the same device.
"""
from ._backend import array_namespace, module_for
from ._checks import require_matrix

FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softmax")


def dense_forward(x, kernel, bias, activation, *, out=None):
    """``activation(x @ kernel + bias)`` for x (n, d_in), kernel (d_in, d_out), bias (d_out,)
    or None, into ``out`` (n, d_out; allocated when None). ``activation`` is one of
    :data:`FUSED_ACTIVATIONS`; softmax is taken per row, max-subtracted. Returns ``out``."""
    arrays = (x, kernel) if bias is None else (x, kernel, bias)
    module = module_for(*arrays) if out is None else module_for(*arrays, out)
    if out is None:
        require_matrix(x, "x")
        require_matrix(kernel, "kernel")
        out = array_namespace(x).empty((x.shape[0], kernel.shape[1]), dtype=x.dtype)
    module.dense_forward(x, kernel, bias, out, activation)
    return out


def dense_backward(x, kernel, out, grad_out, activation, *, has_bias, need_dx):
    """Gradients of :func:`dense_forward` from its output ``out`` and ``grad_out`` (n, d_out):
    ``delta = grad_out * activation'(out)`` in one fused pass (with the bias gradient, the
    column sums of delta), then ``dkernel = x.T @ delta`` and, only if ``need_dx``,
    ``dx = delta @ kernel.T``. Returns ``(dx or None, dkernel, dbias or None)``."""
    module = module_for(x, kernel, out, grad_out)
    require_matrix(x, "x")
    require_matrix(kernel, "kernel")
    xp = array_namespace(x)
    dx = xp.empty(x.shape, dtype=x.dtype) if need_dx else None
    dkernel = xp.empty(kernel.shape, dtype=x.dtype)
    dbias = xp.empty(kernel.shape[1], dtype=x.dtype) if has_bias else None
    module.dense_backward(x, kernel, out, grad_out, activation, dx, dkernel, dbias)
    return dx, dkernel, dbias
