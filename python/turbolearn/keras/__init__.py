"""``turbolearn.keras``: the Keras 3 API on turbolearn's kernels (``from turbolearn import keras``)."""
from . import (activations, backend, callbacks, constraints, datasets, initializers, layers,
               losses, metrics, models, ops, optimizers, regularizers, saving, utils, wrappers)
from ._tensor import GradientTape, Variable
from .layers import Input, Layer
from .models import Model, Sequential
from .ops import stop_gradient

__all__ = ["GradientTape", "Input", "Layer", "Model", "Sequential", "Variable", "activations",
           "backend", "callbacks", "constraints", "datasets", "initializers", "layers", "losses",
           "metrics", "models", "ops", "optimizers", "regularizers", "saving", "stop_gradient",
           "utils", "wrappers"]
