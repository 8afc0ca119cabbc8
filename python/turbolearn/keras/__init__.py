"""``turbolearn.keras``: the Keras 3 API on turbolearn's kernels (``from turbolearn import keras``)."""
from . import activations, backend, constraints, initializers, layers, ops, regularizers, saving
from ._tensor import GradientTape, Variable
from .layers import Input
from .ops import stop_gradient

__all__ = ["GradientTape", "Input", "Variable", "activations", "backend", "constraints",
           "initializers", "layers", "ops", "regularizers", "saving", "stop_gradient"]
