"""Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, and their
functional forms (``concatenate([a, b])``, ...). They take a list of tensors."""
import functools

import numpy as np

from .. import ops
from .layer import Layer

__all__ = ["Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract"]


def _as_shape_list(layer, input_shape):
    if not isinstance(input_shape, (list, tuple)) or not input_shape or \
            not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"A merge layer ({type(layer).__name__} {layer.name!r}) should be "
                         f"called on a list of inputs. Received: input_shape={input_shape}")
    return [tuple(s) for s in input_shape]


class _Merge(Layer):
    """Elementwise merges: inputs broadcast against each other; a lower-rank input gets size-1
    axes inserted after the batch axis, as Keras does."""

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({type(self).__name__} {self.name!r}) should be "
                             f"called on a list of inputs. Received: inputs={inputs!r} (not a "
                             "list of tensors)")
        if len(inputs) < self._min_inputs:
            raise ValueError(f"A {type(self).__name__} layer ({self.name!r}) should be called "
                             f"on a list of at least {self._min_inputs} inputs. Received "
                             f"{len(inputs)} inputs.")

    def build(self, input_shape):
        if input_shape and not isinstance(input_shape[0], (list, tuple)):
            input_shape = [input_shape]  # a list holding one tensor
        self.compute_output_shape(_as_shape_list(self, input_shape))
        self.built = True

    def _elementwise_shape(self, shape1, shape2):
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): inputs have "
                                 f"incompatible shapes. Received shapes {shape1} and {shape2}")
        return tuple(out)

    def compute_mask(self, inputs, previous_mask):
        """Keras' rule for elementwise merges: the OR of the inputs' masks, none unless every
        input has one."""
        if not isinstance(previous_mask, (list, tuple)) or \
                any(m is None for m in previous_mask):
            return None
        return functools.reduce(np.logical_or, [np.asarray(m) for m in previous_mask])

    def compute_output_shape(self, input_shape):
        shapes = _as_shape_list(self, input_shape)
        if len(shapes) < self._min_inputs:
            raise ValueError(f"A {type(self).__name__} layer ({self.name!r}) should be called "
                             f"on a list of at least {self._min_inputs} inputs. Received "
                             f"{len(shapes)} inputs.")
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}): cannot merge "
                             f"tensors with different batch sizes. Received tensors with "
                             f"shapes {shapes}")
        out = functools.reduce(self._elementwise_shape, [s[1:] for s in shapes])
        return ((batches.pop() if batches else None),) + tuple(out)

    def call(self, inputs):
        self._check_inputs(inputs)
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        ranks = [len(x.shape) for x in inputs]
        top = max(ranks)
        aligned = []
        for x, r in zip(inputs, ranks):
            for _ in range(top - r):
                x = ops.expand_dims(x, 1)
            aligned.append(x)
        return self._merge_function(aligned)

    def _merge_function(self, inputs):
        raise NotImplementedError


class Add(_Merge):
    """The elementwise sum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.add, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    _min_inputs = 2

    def _check_inputs(self, inputs):
        super()._check_inputs(inputs)
        if len(inputs) != 2:
            raise ValueError(f"A Subtract layer ({self.name!r}) should be called on exactly 2 "
                             f"inputs. Received: {len(inputs)} inputs")

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and len(input_shape) != 2:
            raise ValueError(f"A Subtract layer ({self.name!r}) should be called on exactly 2 "
                             f"inputs. Received: {len(input_shape)} inputs")
        return super().compute_output_shape(input_shape)

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """The elementwise product of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.multiply, inputs)


class Average(_Merge):
    """The elementwise mean of the inputs."""

    def _merge_function(self, inputs):
        return ops.divide(functools.reduce(ops.add, inputs), float(len(inputs)))


class Maximum(_Merge):
    """The elementwise maximum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.maximum, inputs)


class Minimum(_Merge):
    """The elementwise minimum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.minimum, inputs)


class Concatenate(_Merge):
    """Concatenates the inputs along ``axis``; the other sizes must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an integer, got {axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        shapes = _as_shape_list(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes "
                             f"except for the concatenation axis (axis={self.axis}). Layer "
                             f"{self.name!r} received: input_shape={shapes}")
        axis = self.axis % rank
        out = list(shapes[0])
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == axis:
                    continue
                if a is not None and b is not None and a != b:
                    raise ValueError("A `Concatenate` layer requires inputs with matching "
                                     "shapes except for the concatenation axis "
                                     f"(axis={self.axis}). Layer {self.name!r} received: "
                                     f"input_shape={shapes}")
                out[i] = a if a is not None else b
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def call(self, inputs):
        self._check_inputs(inputs)
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, previous_mask):
        """Keras' rule: each input's mask (all true where it has none) broadcast to the
        input's shape, concatenated along ``axis``, then any() over the last axis."""
        if not isinstance(previous_mask, (list, tuple)) or \
                all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            shape = tuple(x.shape)
            if m is None:
                m = np.ones(shape, dtype=bool)
            elif np.ndim(m) < len(shape):
                m = np.broadcast_to(np.expand_dims(np.asarray(m), -1), shape)
            masks.append(np.asarray(m, dtype=bool))
        return np.concatenate(masks, axis=self.axis).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _functional(cls, doc):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = doc
    return merge


add = _functional(Add, "``Add()(inputs)``.")
subtract = _functional(Subtract, "``Subtract()(inputs)``.")
multiply = _functional(Multiply, "``Multiply()(inputs)``.")
average = _functional(Average, "``Average()(inputs)``.")
maximum = _functional(Maximum, "``Maximum()(inputs)``.")
minimum = _functional(Minimum, "``Minimum()(inputs)``.")


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
