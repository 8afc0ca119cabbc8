"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax."""
import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .._tensor import value_of
from ..saving import serialize_keras_object
from .layer import Layer

__all__ = ["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _non_negative(layer, name, value, allow_none=False):
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or value < 0:
        raise ValueError(f"{name} of a {layer} layer cannot be None or a negative value. "
                         f"Received: {name}={value!r}")


class Activation(Layer):
    """Applies an activation function (name or callable)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["activation"] = activations.deserialize(config["activation"])
        return cls(**config)


def relu_op(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu with its options, step for step: x above the threshold (clipped to
    [0, max_value]), minus negative_slope * relu(threshold - x)."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return ops.leaky_relu(x, negative_slope)
    xv = value_of(x)
    pos = ops.where(xv > threshold, x, 0.0) if threshold != 0 else ops.relu(x)
    if max_value is not None:
        pos = ops.clip(pos, 0.0, max_value)
    if negative_slope != 0:
        pos = ops.subtract(pos, ops.multiply(negative_slope,
                                             ops.relu(ops.subtract(threshold, x))))
    return pos


class ReLU(Layer):
    """``max(x, 0)`` with Keras' options: ``max_value`` caps it, values below ``threshold``
    become ``negative_slope * (x - threshold)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        _non_negative("ReLU", "max_value", max_value, allow_none=True)
        _non_negative("ReLU", "negative_slope", negative_slope)
        _non_negative("ReLU", "threshold", threshold)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True

    def call(self, inputs):
        return relu_op(inputs, self.negative_slope, self.max_value, self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (Keras 3 default slope 0.3; the
    legacy ``alpha=`` is accepted)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        _non_negative("Leaky ReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope
        self.supports_masking = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with a learned slope per element (``shared_axes`` share it)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for i in self.shared_axes or ():
            if not 1 <= i < len(input_shape):
                raise ValueError(f"Layer {self.name!r} (PReLU): shared axis {i} is out of "
                                 f"range for input shape {tuple(input_shape)} (axes 1.."
                                 f"{len(input_shape) - 1})")
            param_shape[i - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"Layer {self.name!r} (PReLU): the non-shared input dimensions "
                             f"must be known, got input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=param_shape, name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        expected = tuple(self.alpha.shape)
        got = tuple(inputs.shape[1:])
        if len(got) != len(expected) or any(a != 1 and a != b for a, b in zip(expected, got)):
            raise ValueError(f"Layer {self.name!r} (PReLU) was built for inputs of shape "
                             f"(None, {', '.join(map(str, expected))}) (1 = shared), got "
                             f"{tuple(inputs.shape)}")
        pos = ops.relu(inputs)
        neg = ops.multiply(ops.negative(self.alpha), ops.relu(ops.negative(inputs)))
        return ops.add(pos, neg)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": serialize_keras_object(self.alpha_initializer),
                "alpha_regularizer": serialize_keras_object(self.alpha_regularizer),
                "alpha_constraint": serialize_keras_object(self.alpha_constraint),
                "shared_axes": self.shared_axes}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["alpha_initializer"] = initializers.get(config.get("alpha_initializer"))
        config["alpha_regularizer"] = regularizers.get(config.get("alpha_regularizer"))
        config["alpha_constraint"] = constraints.get(config.get("alpha_constraint"))
        return cls(**config)


class ELU(Layer):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of axes); masked entries (mask False) get
    probability 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            m = np.asarray(value_of(mask))
            if m.dtype != bool:
                m = m > 0.5
            try:
                np.broadcast_shapes(m.shape, tuple(inputs.shape))
            except ValueError:
                raise ValueError(f"Layer {self.name!r} (Softmax): the mask of shape {m.shape} "
                                 f"must broadcast to the inputs' shape "
                                 f"{tuple(inputs.shape)}") from None
            inputs = ops.where(m, inputs, np.float32(-1e9) if str(inputs.dtype) != "float64"
                               else -1e9)
        if isinstance(self.axis, (list, tuple)) and len(self.axis) > 1:
            out = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=tuple(self.axis),
                                                             keepdims=True)))
        else:
            axis = self.axis[0] if isinstance(self.axis, (list, tuple)) else self.axis
            out = ops.softmax(inputs, axis=axis)
        if mask is not None:
            out = ops.where(m, out, 0.0)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
