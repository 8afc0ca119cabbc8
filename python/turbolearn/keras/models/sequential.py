"""``keras.Sequential``: a plain stack of layers, each fed the previous one's output."""
from ..layers.layer import InputLayer, KerasTensor, Layer, structure_changed
from .model import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """Built as soon as the input shape is known (an Input, or ``input_shape=`` on the first
    layer); otherwise on the first call."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        object.__setattr__(self, "_input_layer", None)  # not a tracked sublayer
        self._layer_outputs = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._build_from_input_layer()

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("An InputLayer can only be added first to a Sequential model")
            object.__setattr__(self, "_input_layer", layer)
            return
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of keras.Layer can be added to a Sequential "
                             f"model. Received: {layer!r} (of type {type(layer).__name__})")
        if any(layer.name == other.name for other in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name {layer.name!r} is already the name of a layer in "
                             "this model.")
        self._layers.append(layer)
        structure_changed()
        self.built = False
        if rebuild:
            self._build_from_input_layer()

    def pop(self):
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        structure_changed()
        self.built = False
        self._build_from_input_layer()
        return layer

    def _build_from_input_layer(self):
        shape = (self._input_layer.batch_shape if self._input_layer is not None else
                 getattr(self._layers[0], "_batch_input_shape", None) if self._layers else None)
        if shape is not None:
            self._build_graph(tuple(shape))

    def _build_graph(self, batch_shape):
        """Runs the layers on a symbolic input: builds them and records their output shapes."""
        if self._input_layer is None:
            object.__setattr__(self, "_input_layer",
                               InputLayer(batch_shape=batch_shape, dtype=self.dtype))
        x = self._input_layer.output_tensor
        self._layer_outputs = []
        for layer in self._layers:
            x = layer(x)
            self._layer_outputs.append(x)
        self.inputs, self.outputs = [self._input_layer.output_tensor], [x]
        self._build_shapes = [tuple(batch_shape)]
        self._batch_input_shape = tuple(batch_shape)  # lets an enclosing Sequential build
        self.built = True

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_graph((None,) + tuple(shapes[0][1:]))

    def build(self, input_shape=None):
        if input_shape is None:
            self._build_from_input_layer()
            if not self.built:
                raise ValueError("You must provide an `input_shape` argument.")
            return
        self._build_graph(tuple(input_shape))

    @property
    def input(self):
        if not self.built:
            raise AttributeError("The Sequential model has not been built yet, so it has no "
                                 "defined input")
        return self.inputs[0]

    @property
    def output(self):
        if not self.built:
            raise AttributeError("The Sequential model has not been built yet, so it has no "
                                 "defined output")
        return self.outputs[0]

    @property
    def input_shape(self):
        return self.input.shape

    @property
    def output_shape(self):
        return self.output.shape

    def _output_names(self, n=1):
        return [self._layers[-1].name] if self._layers else ["output"]

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if self.built and len(self.inputs[0].shape) != len(x.shape):
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected shape={self.inputs[0].shape}, found shape="
                             f"{tuple(x.shape)}")
        for layer in self._layers:
            x = layer(x)
        return x

    def compute_output_spec(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers:
            x = layer.compute_output_spec(x)
        return x

    def get_config(self):
        from ..saving import serialize_keras_object
        layers = [serialize_keras_object(layer) for layer in self._layers]
        if self._input_layer is not None:
            layers.insert(0, serialize_keras_object(self._input_layer))
        config = {"name": self.name, "trainable": self.trainable, "layers": layers}
        if self.built:
            config["build_input_shape"] = list(self._build_shapes[0])
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving import deserialize_keras_object
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize_keras_object(layer_config, custom_objects), rebuild=False)
        model._build_from_input_layer()
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model
