"""The Layer base class, symbolic KerasTensors, InputLayer and Input.

A layer owns Variables (``add_weight``) and sublayers (attributes, also inside lists and
dicts), builds itself on its first input, and is called eagerly on arrays/Tensors or
symbolically on KerasTensors, which records a graph node for functional models.
"""
import inspect
import re
import threading
import warnings

import numpy as np

from .. import backend
from .._tensor import Tensor, Variable, _flatten, _pack_like, floatx, value_of

__all__ = ["InputLayer", "Input", "KerasTensor", "Layer"]

_context = threading.local()


_structure_version = [0]


def structure_changed():
    """Called whenever any layer gains or loses a sublayer: invalidates the cached lists."""
    _structure_version[0] += 1


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def current_training():
    """The ``training`` value of the outermost layer call in progress (None outside)."""
    return getattr(_context, "training", None)


class KerasTensor:
    """A symbolic tensor: a shape (None for unknown sizes), a dtype and the layer call that
    produces it (``_keras_history``: layer, node index, output index)."""

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(np.dtype(dtype))
        self.name = name
        self._keras_history = history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _op(self, fn, *others):
        from .core import _OpLayer
        return _OpLayer(fn)(self, *others)

    def __add__(self, other): return self._op(lambda a, b: a + b, other)
    def __radd__(self, other): return self._op(lambda a, b: b + a, other)
    def __sub__(self, other): return self._op(lambda a, b: a - b, other)
    def __rsub__(self, other): return self._op(lambda a, b: b - a, other)
    def __mul__(self, other): return self._op(lambda a, b: a * b, other)
    def __rmul__(self, other): return self._op(lambda a, b: b * a, other)
    def __truediv__(self, other): return self._op(lambda a, b: a / b, other)
    def __neg__(self): return self._op(lambda a: -a)
    def __getitem__(self, key): return self._op(lambda a: a[key])


def any_symbolic(structure):
    return any(isinstance(x, KerasTensor) for x in _flatten(structure))


class CallNode:
    """One symbolic call of a layer: its arguments (with KerasTensors) and outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs

    def input_tensors(self):
        return [x for x in _flatten((self.args, list(self.kwargs.values())))
                if isinstance(x, KerasTensor)]


def _shape_of(x):
    return tuple(x.shape)


def _dummy(x, fill):
    """A zero array standing in for KerasTensor x: unknown sizes become ``fill``."""
    shape = tuple(fill if d is None else d for d in x.shape)
    return np.zeros(shape, dtype=x.dtype)


class Layer:
    """Base class of all layers (``keras.layers.Layer``)."""

    def __init__(self, *, trainable=True, name=None, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, batch_size=None,
                 activity_regularizer=None, **kwargs):
        kwargs.pop("autocast", None)
        input_length = kwargs.pop("input_length", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword arguments: "
                            f"{sorted(kwargs)}")
        self.name = name or backend.unique_name(_snake_case(type(self).__name__))
        self._trainable = trainable
        self.dtype = dtype if isinstance(dtype, str) else getattr(dtype, "name", None) or floatx()
        self.built = False
        # as Keras: a layer that defines compute_mask supports masking; others may opt in
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask
        self._own_weights = []
        self._layers = []
        self._losses = []
        self._inbound_nodes = []
        self._build_shapes = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,) if input_length is None else (input_length, input_dim)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        from .. import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._call_has_training = "training" in inspect.signature(self.call).parameters
        self._call_has_mask = "mask" in inspect.signature(self.call).parameters

    # --- tracking ---------------------------------------------------------------------------

    def __setattr__(self, name, value):
        if name != "_layers" and not name.startswith("_keras"):
            layers = self.__dict__.get("_layers")
            if layers is not None:
                for x in _flatten(value if isinstance(value, (list, tuple, dict)) else [value]):
                    if isinstance(x, Layer) and x is not self and \
                            not any(x is y for y in layers):
                        layers.append(x)
                        structure_changed()
                    elif isinstance(x, Variable) and \
                            not any(x is w for w in self.__dict__.get("_own_weights", ())):
                        self._own_weights.append(x)
        object.__setattr__(self, name, value)

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation=None,
                   name=None, **kwargs):
        """Creates, tracks and returns a Variable of this layer."""
        from .. import constraints, initializers, regularizers
        kwargs.pop("use_resource", None)  # TF-era arguments the book's code still passes
        kwargs.pop("experimental_autocast", None)
        if kwargs:
            raise TypeError(f"add_weight: unrecognized keyword arguments {sorted(kwargs)}")
        dtype = dtype or self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in str(dtype) else "zeros"
        shape = () if shape is None else tuple(shape)
        init = initializers.get(initializer)
        variable = Variable(init, shape=shape, dtype=dtype, trainable=trainable,
                            name=name or f"variable_{len(self._own_weights)}",
                            constraint=constraints.get(constraint),
                            regularizer=regularizers.get(regularizer))
        variable.path = f"{self.name}/{variable.name}"
        self._own_weights.append(variable)
        return variable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    def _sublayers(self):
        """Every nested layer, depth first, each once (cached until a layer gains one)."""
        cached = self.__dict__.get("_sublayers_cache")
        if cached is not None and cached[0] == _structure_version[0]:
            return cached[1]
        seen, out = set(), []
        stack = list(reversed(self._layers))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._layers))
        object.__setattr__(self, "_sublayers_cache", (_structure_version[0], out))
        return out

    def _collect(self, own):
        seen, out = set(), []
        for layer in [self] + self._sublayers():
            for w in own(layer):
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        return self._collect(lambda layer: [w for w in layer._own_weights if w.trainable]
                             if layer.trainable else [])

    @property
    def non_trainable_weights(self):
        return self._collect(lambda layer: [w for w in layer._own_weights
                                            if not (w.trainable and layer.trainable)])

    @property
    def weights(self):
        return self._collect(lambda layer: [w for w in layer._own_weights if w.trainable] +
                             [w for w in layer._own_weights if not w.trainable])

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [np.array(w) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r} expects {len(params)} weights, but the "
                             f"given list has {len(weights)}")
        for w, value in zip(params, weights):
            if tuple(np.shape(value)) != w.shape:
                raise ValueError(f"Layer {self.name!r}: weight {w.name!r} has shape {w.shape}, "
                                 f"the given value has shape {np.shape(value)}")
        for w, value in zip(params, weights):
            w.assign(np.asarray(value, dtype=w.dtype))

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer {self.name!r}, but "
                             "the layer isn't built. Call it on data or build() it first.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # --- losses -----------------------------------------------------------------------------

    def add_loss(self, loss):
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call (activity regularization, add_loss) plus the
        weight regularization penalties, of this layer and its sublayers."""
        out = []
        for layer in [self] + self._sublayers():
            out.extend(layer._losses)
            out.extend(w.regularizer(w) for w in layer._own_weights
                       if w.regularizer is not None and w.trainable)
        return out

    def _clear_losses(self):
        for layer in [self] + self._sublayers():
            object.__setattr__(layer, "_losses", [])  # not a tracked attribute: skip the scan

    # --- building and calling ---------------------------------------------------------------

    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_shapes = shapes
            self.build(shapes[0] if len(shapes) == 1 else shapes)
            self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, *args, **kwargs):
        first = args[0] if args else None
        if type(first) is KerasTensor or (
                (len(args) > 1 or isinstance(first, (list, tuple, dict)) or
                 (kwargs and kwargs.keys() - {"training"})) and
                any_symbolic((args, list(kwargs.values())))):
            return self._symbolic_call(args, kwargs)
        inputs = args[0] if args else kwargs.get("inputs")
        if not self.built:
            self._maybe_build(_input_shapes(inputs))
        outer = not hasattr(_context, "training")
        training = kwargs.get("training")
        if self._call_has_training:
            if training is None:
                training = current_training()
            kwargs["training"] = training
        elif "training" in kwargs:
            del kwargs["training"]
        if outer:
            _context.training = training
            self._clear_losses()
        elif training is not None and current_training() is None:
            _context.training = training
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = _mask_of(inputs)
            if previous_mask is not None and self._call_has_mask and \
                    _only_tensor_argument(args, kwargs):
                kwargs["mask"] = previous_mask
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            if outer:
                del _context.training
        if self.supports_masking:
            if previous_mask is not None or self._defines_compute_mask:
                self._set_mask_metadata(inputs, outputs, previous_mask)
        elif previous_mask is not None:
            warnings.warn(f"Layer {self.name!r} (of type {type(self).__name__}) was passed an "
                          "input with a mask attached to it. However, this layer does not "
                          "support masking and will therefore destroy the mask information. "
                          "Downstream layers will not see the mask.", stacklevel=2)
        if self.activity_regularizer is not None:
            from .. import ops
            for out in _flatten(outputs):
                loss = self.activity_regularizer(out)
                if len(getattr(out, "shape", ())) > 0 and out.shape[0]:
                    loss = ops.divide(loss, float(out.shape[0]))  # per sample, as Keras 3
                self.add_loss(loss)
        return outputs

    # --- masks ------------------------------------------------------------------------------

    @property
    def _defines_compute_mask(self):
        return type(self).compute_mask is not Layer.compute_mask

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (Keras' rule: by default, the input's mask)."""
        return previous_mask

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        """Attaches ``compute_mask``'s masks to the outputs that have none (Keras 3)."""
        flat = _flatten(outputs)
        if all(getattr(t, "_keras_mask", None) is not None for t in flat):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for tensor, mask in zip(flat, _flatten(masks)):
            if mask is not None and isinstance(tensor, Tensor) and tensor._keras_mask is None:
                tensor._keras_mask = value_of(mask)

    def _symbolic_call(self, args, kwargs):
        inputs = args[0] if args else kwargs.get("inputs")
        if not self.built:
            self._maybe_build(_input_shapes(inputs))
        spec = self.compute_output_spec(*args, **kwargs)
        node = CallNode(self, args, kwargs, None)
        index = len(self._inbound_nodes)
        leaves = [KerasTensor(s.shape, s.dtype, name=f"{self.name}_out",
                              history=(self, index, i)) for i, s in enumerate(_flatten(spec))]
        node.outputs = _pack_like(spec, iter(leaves))
        self._inbound_nodes.append(node)
        return node.outputs

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    def compute_output_spec(self, *args, **kwargs):
        """Output KerasTensors (shapes, dtypes) of a call on KerasTensors: from
        ``compute_output_shape`` when the layer defines it, else by running ``call`` on zeros
        twice with different sizes for the unknown dimensions."""
        inputs = args[0] if args else kwargs.get("inputs")
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shape = self.compute_output_shape(_pack_like(inputs, iter(_input_shapes(inputs)))
                                              if isinstance(inputs, (list, tuple, dict))
                                              else inputs.shape)
            dtype = _flatten(inputs)[0].dtype
            if isinstance(shape, list) or (isinstance(shape, tuple) and shape and
                                           isinstance(shape[0], (tuple, list))):
                return [KerasTensor(s, dtype) for s in shape]
            return KerasTensor(shape, dtype)
        return self._output_spec_by_running(*args, **kwargs)

    def _output_spec_by_running(self, *args, **kwargs):
        """Output specs found by running ``call`` on zeros twice, with 2 then 3 for the
        unknown sizes: a size that differs between the runs is unknown (None)."""
        runs = []
        for fill in (2, 3):
            concrete = _pack_like((args, kwargs), iter(
                [_dummy(x, fill) if isinstance(x, KerasTensor) else x
                 for x in _flatten((args, kwargs))]))
            c_args, c_kwargs = concrete
            if self._call_has_training:
                c_kwargs = {**c_kwargs, "training": False}
            else:
                c_kwargs.pop("training", None)
            saved = getattr(_context, "training", "unset")
            _context.training = False
            try:
                out = self.call(*c_args, **c_kwargs)
            finally:
                if saved == "unset":
                    del _context.training
                else:
                    _context.training = saved
            runs.append(out)
        first, second = (_flatten(r) for r in runs)
        specs = [KerasTensor(tuple(a if a == b else None for a, b in
                                   zip(np.shape(x), np.shape(y))),
                             np.asarray(x).dtype if not isinstance(x, Tensor) else x.dtype)
                 for x, y in zip(first, second)]
        return _pack_like(runs[0], iter(specs))

    # --- graph access (functional models) ---------------------------------------------------

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called on a symbolic "
                                 "input, so it has no defined input")
        tensors = self._inbound_nodes[0].input_tensors()
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called on a symbolic "
                                 "input, so it has no defined output")
        return self._inbound_nodes[0].outputs

    # --- configuration ----------------------------------------------------------------------

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        batch_shape = getattr(self, "_batch_input_shape", None)
        if batch_shape is not None:
            config["batch_input_shape"] = list(batch_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        shapes = [list(s) if s is not None else None for s in self._build_shapes]
        return {"input_shape": shapes[0] if len(shapes) == 1 else shapes}

    def build_from_config(self, config):
        if config and not self.built:
            shape = config["input_shape"]
            nested = bool(shape) and isinstance(shape[0], (list, tuple))
            self._maybe_build([tuple(s) for s in shape] if nested else [tuple(shape)])

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _mask_of(inputs):
    """The Keras mask attached to inputs (a list of masks for a list of inputs), or None."""
    if isinstance(inputs, (list, tuple)):
        masks = [getattr(x, "_keras_mask", None) for x in inputs]
        return masks if any(m is not None for m in masks) else None
    return getattr(inputs, "_keras_mask", None)


def _is_tensor_argument(x):
    if isinstance(x, (list, tuple)):
        return any(_is_tensor_argument(v) for v in x)
    return isinstance(x, (Tensor, Variable, np.ndarray)) or hasattr(x, "__cuda_array_interface__")


def _only_tensor_argument(args, kwargs):
    """Whether the first argument is the call's only tensor argument: Keras fills ``mask``
    from the input's mask only then."""
    return not any(_is_tensor_argument(a) for a in args[1:]) and not any(
        _is_tensor_argument(v) for k, v in kwargs.items() if k not in ("mask", "training"))


def _input_shapes(inputs):
    """Shapes (tuples, None for unknown) of the tensors in inputs, flattened."""
    return [tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))
            for x in _flatten(inputs)]


class InputLayer(Layer):
    """The layer behind ``keras.Input``: no weights, its output is the model input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, name=None, input_shape=None, batch_input_shape=None,
                 **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs a shape or batch_shape")
            batch_shape = (batch_size,) + tuple(shape)
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype, **kwargs)
        self._batch_input_shape = tuple(batch_shape)
        self.built = True
        node = CallNode(self, (), {}, None)
        node.outputs = KerasTensor(self._batch_input_shape, self.dtype, name=self.name,
                                   history=(self, 0, 0))
        self._inbound_nodes.append(node)
        self.output_tensor = node.outputs

    @property
    def batch_shape(self):
        return self._batch_input_shape

    def get_config(self):
        return {"batch_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None):
    """A symbolic model input (``keras.Input``)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                      name=name).output_tensor
