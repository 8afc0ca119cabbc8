"""Dense and the internal layer that records a keras.ops call on KerasTensors."""
from .. import activations, backend, constraints, initializers, regularizers
from .. import _nn
from ..saving import serialize_keras_object
from .layer import Layer

__all__ = ["Dense"]


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` over the last axis, one fused kernel per
    direction when the activation is one the dense kernel fuses."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self._fused = (None, None)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Layer {self.name!r}: the last dimension of the input must be "
                             f"known, got input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(in_dim, self.units), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight(shape=(self.units,), name="bias",
                                     initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        in_dim = self.kernel.shape[0]
        if inputs.shape[-1] != in_dim:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected axis -1 of input shape to have value {in_dim}, but "
                             f"received input with shape {tuple(inputs.shape)}")
        if self._fused[0] is not self.activation:  # the activation may be reassigned
            self._fused = (self.activation, activations.fused_name(self.activation))
        fused = self._fused[1]
        if fused is not None:
            return _nn.dense(inputs, self.kernel, self.bias, fused)
        return self.activation(_nn.dense(inputs, self.kernel, self.bias, "linear"))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(self.activity_regularizer),
                "kernel_constraint": serialize_keras_object(self.kernel_constraint),
                "bias_constraint": serialize_keras_object(self.bias_constraint)}

    @classmethod
    def from_config(cls, config):
        from ..saving import deserialize_keras_object
        config = dict(config)
        for key in ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key])
        config["activation"] = activations.deserialize(config.get("activation")) \
            if config.get("activation") is not None else None
        return cls(**config)


class _OpLayer(Layer):
    """A function of tensors applied to KerasTensors (``x + y``, ``keras.ops.exp(x)``) in a
    functional model: recorded as a layer with no weights."""

    def __init__(self, fn, **kwargs):
        super().__init__(name=backend.unique_name(fn.__name__.strip("<>")), **kwargs)
        self.fn = fn

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)
