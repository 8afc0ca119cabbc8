"""Lambda (a Python function as a layer) and Identity."""
import inspect

from ..saving import deserialize_keras_object, serialize_keras_object
from .layer import KerasTensor, Layer, _input_shapes

__all__ = ["Identity", "Lambda"]


class Identity(Layer):
    """Returns its input unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer (``mask=`` and ``training=`` are
    passed when the function takes them).

    ``output_shape`` (without the batch axis, or a callable of the input shape) is used for
    symbolic calls; without it the shape is inferred by running the function. A Lambda
    holding a named function serializes by name (register it or pass it in custom_objects
    to load); one holding a Python ``lambda`` cannot be loaded, since loading never runs code
    from a file (Keras needs safe_mode=False for that).
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable, got {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is None:
            return self._output_spec_by_running(*args, **kwargs)
        inputs = args[0] if args else kwargs.get("inputs")
        shapes = _input_shapes(inputs)
        dtype = getattr(inputs if not isinstance(inputs, (list, tuple)) else inputs[0],
                        "dtype", self.dtype)
        if callable(self._output_shape):
            shape = self._output_shape(shapes[0] if len(shapes) == 1 else shapes)
        else:
            shape = (shapes[0][0],) + tuple(self._output_shape)
        return KerasTensor(tuple(shape), dtype)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            raise NotImplementedError(f"Lambda layer {self.name!r}: pass `output_shape` or "
                                      "call it on a KerasTensor to infer the output shape")
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (tuple(input_shape)[0],) + tuple(self._output_shape)

    @staticmethod
    def _serialize_function(fn):
        if getattr(fn, "__name__", "") == "<lambda>":
            return {"class_name": "__lambda__",
                    "config": {"name": "<lambda>", "qualname": fn.__qualname__}}
        return serialize_keras_object(fn)

    def get_config(self):
        config = {**super().get_config(), "function": self._serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (self._serialize_function(self._output_shape)
                                      if callable(self._output_shape)
                                      else list(self._output_shape))
        if self.mask is not None:
            config["mask"] = (self._serialize_function(self.mask) if callable(self.mask)
                              else serialize_keras_object(self.mask))
        config["arguments"] = serialize_keras_object(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)

        def load(value):
            if isinstance(value, dict) and value.get("class_name") == "__lambda__":
                raise ValueError("Cannot load a Lambda layer holding a Python lambda: loading "
                                 "never runs code from a file. Rebuild the layer with a named "
                                 "function and pass it in custom_objects.")
            if isinstance(value, dict) and value.get("class_name") == "function":
                return deserialize_keras_object(value, custom_objects)
            return value
        config["function"] = load(config["function"])
        if "output_shape" in config:
            shape = load(config["output_shape"])
            config["output_shape"] = tuple(shape) if isinstance(shape, list) else shape
        if "mask" in config:
            config["mask"] = load(config["mask"])
        return cls(**config)
