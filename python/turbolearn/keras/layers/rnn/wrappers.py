"""Layer wrappers for sequences: Wrapper, TimeDistributed and Bidirectional (Keras 3's)."""
from ... import ops
from ...saving import deserialize_keras_object, serialize_keras_object
from ..layer import KerasTensor, Layer

__all__ = ["Bidirectional", "TimeDistributed", "Wrapper"]

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


class Wrapper(Layer):
    """A layer holding another layer (``self.layer``), built on the same input shape."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. "
                             "Please ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._maybe_build([tuple(input_shape)])
        self.built = True

    def get_config(self):
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_keras_object(config.pop("layer"), custom_objects)
        return cls(layer, **config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time step of (batch, time, ...) inputs, with the same
    weights at every step.

    The time steps are folded into the batch: one call of the layer on (batch * time, ...)
    instead of Keras' one call per step. For layers that treat samples independently (Dense,
    convolutions, ...) the results are the same; a layer computing batch statistics in
    training (BatchNormalization) sees all steps at once instead of one step at a time.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        super().build(self._child_input_shape(tuple(input_shape)))

    def compute_output_shape(self, input_shape):
        child = self._child_input_shape(tuple(input_shape))
        child_out = self.layer.compute_output_spec(KerasTensor(child)).shape
        return (child_out[0], input_shape[1], *child_out[1:])

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        if mask is not None:
            mask_shape = tuple(mask.shape)
            if len(mask_shape) < 2:
                raise ValueError("The `mask` passed to the `TimeDistributed` layer must be at "
                                 "least 2D (e.g., `(batch_size, timesteps)`), but it has "
                                 f"{len(mask_shape)} dimension(s) with shape {mask_shape}.")
            if mask_shape[:2] != shape[:2]:
                raise ValueError(f"The `mask` passed to the `TimeDistributed` layer has a "
                                 f"shape {mask_shape} that is incompatible with the input "
                                 f"shape {shape}. The first two dimensions of the mask "
                                 "(batch size and timesteps) must match the input's first "
                                 f"two dimensions. Expected mask shape prefix: {shape[:2]}.")
        if len(shape) < 3:
            raise ValueError(f"Layer {self.name!r} (TimeDistributed) expects inputs of rank "
                             f"3 or more, got shape {shape}")
        kwargs = {}
        if self.layer._call_has_mask and mask is not None:
            kwargs["mask"] = ops.reshape(mask, (shape[0] * shape[1],) + tuple(mask.shape[2:]))
        if self.layer._call_has_training:
            kwargs["training"] = training
        folded = ops.reshape(inputs, (shape[0] * shape[1],) + shape[2:])
        out = self.layer.call(folded, **kwargs)
        return ops.reshape(out, shape[:2] + tuple(out.shape[1:]))


class Bidirectional(Layer):
    """Runs an RNN layer forwards and a copy of it backwards over the sequence and merges
    their outputs (``merge_mode`` 'concat', 'sum', 'mul', 'ave', or None for both).

    The forward layer is a copy of ``layer`` (named ``forward_<name>``), the backward one a
    copy with ``go_backwards=True`` (``backward_<name>``) unless ``backward_layer`` is given.
    With ``return_sequences`` the backward outputs are flipped back to time order and masked
    steps output zeros in both directions. ``initial_state`` holds the forward states, then
    the backward ones.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             'be one of {"sum", "mul", "ave", "concat", None}')
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and \
                getattr(layer, "_batch_input_shape", None) is not None:
            kwargs["batch_input_shape"] = layer._batch_input_shape  # builds a Sequential
        super().__init__(**kwargs)
        self.forward_layer = _copy_layer(layer, f"forward_{_unprefixed(layer.name, 'forward_')}")
        self.backward_layer = backward_layer if backward_layer is not None else _copy_layer(
            layer, f"backward_{_unprefixed(layer.name, 'backward_')}", go_backwards=True)
        if hasattr(layer, "use_cudnn"):
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _verify_layer_config(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             "`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{forward.go_backwards}, backward_layer.go_backwards="
                             f"{backward.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, a) != getattr(backward, a):
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{a}", got "{getattr(forward, a)}"'
                                 f' for forward layer and "{getattr(backward, a)}" for '
                                 "backward layer")

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._maybe_build([tuple(sequences_shape)])
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        output_shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        if self.return_state:
            output_shape, state_shape = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = tuple(output_shape[:-1]) + (output_shape[-1] * 2,)
        elif self.merge_mode is None:
            output_shape = [output_shape, output_shape]
        if self.return_state:
            if self.merge_mode is None:
                return list(output_shape) + list(state_shape) * 2
            return [output_shape] + list(state_shape) * 2
        return output_shape

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if self.forward_layer._call_has_training:
            kwargs["training"] = training
        if self.forward_layer._call_has_mask:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = ops.divide(ops.add(y, y_rev), 2.0)
        elif self.merge_mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states
        return output

    def compute_mask(self, _, mask):
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            output_mask = (mask, mask) if not self.merge_mode else mask
        else:
            output_mask = (None, None) if not self.merge_mode else None
        if self.return_state and self.states is not None:
            state_mask = tuple(None for _ in self.states)
            return (output_mask,) + state_mask * 2
        return output_mask

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states + self.backward_layer.states)
        return None

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_keras_object(self.forward_layer),
                "backward_layer": serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_keras_object(backward, custom_objects)
        return cls(**config)


def _unprefixed(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


def _copy_layer(layer, name, **changes):
    """A new layer from ``layer``'s config, renamed (and changed): Keras' copies."""
    config = serialize_keras_object(layer)
    config["config"] = {**config["config"], "name": name, **changes}
    return deserialize_keras_object(config)
