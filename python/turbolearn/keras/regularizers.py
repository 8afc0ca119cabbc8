"""``keras.regularizers``: penalties on weights or activations, written with keras.ops so
their gradient flows through the tape."""
import math

from . import ops
from .initializers import deserialize_from, module_objects

__all__ = ["L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get",
           "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize"]


def validate_float_arg(value, name):
    if isinstance(value, bool) or not isinstance(value, (float, int)) or \
            math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty; subclasses implement it and
    ``get_config``."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``; both 0.0 by default. By name ('l1_l2') both are
    0.01, as Keras documents (Keras 3.15 itself rejects that name)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, "l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        out = None
        if self.l1:
            out = ops.multiply(self.l1, ops.sum(ops.abs(x)))
        if self.l2:
            term = ops.multiply(self.l2, ops.sum(ops.square(x)))
            out = term if out is None else ops.add(out, term)
        if out is None:
            out = ops.multiply(0.0, ops.sum(x))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``, l1 = 0.01 by default."""

    def __init__(self, l1=0.01):
        self.l1 = validate_float_arg(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        return ops.multiply(self.l1, ops.sum(ops.abs(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)``, l2 = 0.01 by default."""

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return ops.multiply(self.l2, ops.sum(ops.square(x)))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """``factor`` times the mean |cosine| between distinct rows (``mode="rows"``) or columns
    of a 2-D weight, as Keras computes it."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_float_arg(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError("Invalid value for argument `mode`. Expected one of "
                             f"{{'rows', 'columns'}}. Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs):
        if len(inputs.shape) != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={tuple(inputs.shape)}")
        axis = 1 if self.mode == "rows" else 0
        norms = ops.sqrt(ops.maximum(ops.sum(ops.square(inputs), axis=axis, keepdims=True),
                                     1e-12))
        unit = ops.divide(inputs, norms)
        if self.mode == "rows":
            product, size = ops.matmul(unit, ops.transpose(unit)), inputs.shape[0]
        else:
            product, size = ops.matmul(ops.transpose(unit), unit), inputs.shape[1]
        import numpy as np
        off = ops.multiply(product, (1.0 - np.eye(size)).astype(str(product.dtype)))
        pairs = size * (size - 1.0) / 2.0
        return ops.multiply(self.factor * 0.5 / pairs, ops.sum(ops.abs(off)))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = module_objects((Regularizer, L1, L2, L1L2, OrthogonalRegularizer))


def serialize(regularizer):
    from .saving import serialize_keras_object
    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    if config == "l1_l2" and not (custom_objects and "l1_l2" in custom_objects):
        return L1L2(l1=0.01, l2=0.01)  # the defaults Keras documents for the name
    obj = deserialize_from(config, ALL_OBJECTS_DICT, custom_objects, "regularizer")
    return obj() if isinstance(obj, type) else obj


def get(identifier):
    """A regularizer from None, a name ('l2', 'L1L2', ...), a config dict, a class, an
    instance or any callable ``f(weights) -> scalar``."""
    if identifier is None:
        return None
    obj = deserialize(identifier) if isinstance(identifier, (dict, str)) else identifier
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
    return obj
