"""TEMPORARY NumPy stand-in for the dense op family (replaced by the kernel branch)."""
import numpy as np

FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softmax")


def _act(z, activation):
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    if activation == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if activation == "selu":
        return 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0)))
    if activation == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    if activation == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def dense_forward(x, kernel, bias, activation, *, out=None):
    z = x @ kernel
    if bias is not None:
        z += bias
    return _act(z, activation).astype(x.dtype, copy=False)


def dense_backward(x, kernel, out, grad_out, activation, *, has_bias, need_dx):
    y, g = out, grad_out
    d = {"linear": 1, "relu": y > 0, "sigmoid": y * (1 - y), "tanh": 1 - y * y,
         "elu": np.where(y > 0, 1, y + 1), "selu": np.where(y > 0, 1.0507009873554805, y + 1.0507009873554805 * 1.6732632423543772),
         "softplus": -np.expm1(-y)}
    delta = (y * (g - (g * y).sum(axis=1, keepdims=True)) if activation == "softmax"
             else g * d[activation]).astype(x.dtype)
    return (delta @ kernel.T if need_dx else None, x.T @ delta,
            delta.sum(axis=0) if has_bias else None)
