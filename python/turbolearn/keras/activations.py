"""``keras.activations``: by name (``activation="relu"``) or as callables."""
from . import ops

__all__ = ["deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_silu",
           "leaky_relu", "linear", "log_softmax", "mish", "relu", "relu6", "selu", "serialize",
           "sigmoid", "silu", "softmax", "softplus", "softsign", "swish", "tanh"]


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)
    y = ops.where(ops.greater_equal(x, threshold), x,
                  ops.multiply(negative_slope, ops.subtract(x, threshold)))
    return y if max_value is None else ops.minimum(y, max_value)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def relu6(x):
    return ops.relu6(x)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def hard_silu(x):
    return ops.hard_silu(x)


def tanh(x):
    return ops.tanh(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def silu(x):
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    return ops.gelu(x, approximate)


def mish(x):
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def exponential(x):
    return ops.exp(x)


def linear(x):
    return x


def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis)


_BY_NAME = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, elu, selu, sigmoid, hard_sigmoid, hard_silu, tanh, softplus,
    softsign, silu, gelu, mish, exponential, linear, softmax, log_softmax)}
_BY_NAME["swish"] = silu


def get(identifier):
    """An activation function from a name, a config dict, a callable or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(f"Could not interpret activation function identifier: "
                             f"{identifier!r}. Known: {sorted(_BY_NAME)}") from None
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation):
    name = getattr(activation, "__name__", None)
    if _BY_NAME.get(name) is activation:
        return name
    from .saving import serialize_keras_object
    return serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return get(config)
    from .saving import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)


def fused_name(activation):
    """The dense kernel's name for a built-in activation it fuses, or None."""
    from ._nn import FUSED_ACTIVATIONS
    name = getattr(activation, "__name__", None)
    return name if name in FUSED_ACTIVATIONS and _BY_NAME.get(name) is activation else None
