"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector (no weights, gradients through
keras.ops)."""
import math

from .. import ops
from .layer import Layer

__all__ = ["Flatten", "Permute", "RepeatVector", "Reshape"]


def _check_positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                         f"{name}={value!r}")


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...); ``data_format="channels_first"`` moves
    the channels last first, as Keras does."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten: data_format must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format

    def call(self, inputs):
        rank = len(inputs.shape)
        if self.data_format == "channels_first" and rank > 2:
            inputs = ops.transpose(inputs, (0, *range(2, rank), 1))
        if rank == 0:
            raise ValueError(f"Layer {self.name!r} (Flatten) needs an input with a batch "
                             "axis, got a scalar")
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape: target_shape must be a tuple of integers. Received: "
                             f"target_shape={target_shape!r}") from None
        if sum(d == -1 for d in target_shape) > 1 or any(d < -1 or d == 0
                                                         for d in target_shape):
            raise ValueError("Reshape: target_shape may hold one -1 and otherwise positive "
                             f"sizes. Received: target_shape={target_shape}")
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        size = None if any(d is None for d in input_shape[1:]) else math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size is None:
                return tuple(None if d == -1 else d for d in self.target_shape)
            if size % known:
                raise ValueError(f"Layer {self.name!r} (Reshape): cannot reshape an input of "
                                 f"shape {tuple(input_shape)} to {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size is not None and size != known:
            raise ValueError(f"Layer {self.name!r} (Reshape): the total size of the input "
                             f"{tuple(input_shape)} per sample ({size}) differs from that of "
                             f"target_shape {self.target_shape} ({known})")
        return self.target_shape

    def call(self, inputs):
        shape = self._resolve(tuple(inputs.shape))
        return ops.reshape(inputs, (inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..rank-1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set "
                             "of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={self.dims}")

    def _check(self, shape):
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Layer {self.name!r} (Permute) with dims={self.dims} expects "
                             f"inputs of rank {len(self.dims) + 1}, got shape {tuple(shape)}")

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("RepeatVector", "n", n)
        self.n = n

    def _check(self, shape):
        if len(shape) != 2:
            raise ValueError(f"Layer {self.name!r} (RepeatVector) expects an input of rank 2 "
                             f"(batch, features), got shape {tuple(shape)}")

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
