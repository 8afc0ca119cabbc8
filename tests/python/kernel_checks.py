"""What the kernel tests of the fused-activation families share: the torch reference of the
activations and the comparison of a kernel's result with a float64 reference."""
import numpy as np
import torch

SELU_ALPHA, SELU_SCALE = 1.67326324, 1.05070098  # Keras's constants (torch's differ by 1e-9)


def torch_activation(z, activation):
    """A fused activation of _ops.FUSED_ACTIVATIONS in torch; softmax over axis 1 (the units
    of a dense layer, the channels of an NCHW image)."""
    f = torch.nn.functional
    return {
        "linear": lambda: z,
        "relu": lambda: torch.relu(z),
        "sigmoid": lambda: torch.sigmoid(z),
        "tanh": lambda: torch.tanh(z),
        "elu": lambda: f.elu(z),
        "selu": lambda: SELU_SCALE * torch.where(z > 0, z, SELU_ALPHA * torch.expm1(z)),
        "softplus": lambda: f.softplus(z),
        "softmax": lambda: torch.softmax(z, dim=1),
    }[activation]()


def assert_close(actual, expected, dtype, rtol):
    """actual has dtype and expected's shape, and is within rtol[dtype] of expected with an
    absolute term of the same size times the largest reference value (sums of products lose
    digits relative to their largest terms). A test binds its own rtol with functools.partial."""
    assert actual.dtype == dtype and actual.shape == expected.shape
    scale = float(np.abs(expected).max()) if expected.size else 1.0
    tol = rtol[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(scale, 1.0))
