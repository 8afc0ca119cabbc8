"""Normalization: standardizes features with a mean and variance from ``adapt(data)`` or given."""
import numpy as np

from .. import backend, ops
from .._tensor import Tensor, value_of
from .layer import Layer

__all__ = ["Normalization"]


class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), epsilon)`` per position of ``axis`` (the features
    by default); ``invert=True`` undoes it. Non-trainable weights: mean, variance, count."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = invert
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Layer {self.name!r}: all `axis` values must be in [-{ndim}, "
                             f"{ndim}); got axis={self.axis}")
        keep = sorted(a % ndim for a in self.axis)
        if any(input_shape[d] is None for d in keep):
            raise ValueError(f"Layer {self.name!r}: the kept axes {self.axis} must have a "
                             f"known size, input shape {tuple(input_shape)}")
        self._reduce_axes = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
        self.built = True

    def adapt(self, data):
        """Sets mean and variance (population) from data, over every axis but ``axis``."""
        data = np.asarray(value_of(data), dtype="float64")
        if not self.built:
            self._maybe_build([data.shape])
        if data.shape[0] == 0:
            raise ValueError(f"Layer {self.name!r}: adapt() needs at least one sample")
        self.adapt_mean.assign(data.mean(axis=self._reduce_axes).reshape(self.adapt_mean.shape))
        self.adapt_variance.assign(
            data.var(axis=self._reduce_axes).reshape(self.adapt_variance.shape))
        self.count.assign(np.int64(data.size // max(1, int(np.prod(self.adapt_mean.shape)))))

    def _mean_variance(self):
        """Mean and variance shaped to broadcast against the input (Keras' ``mean``)."""
        if not self.built:
            raise ValueError(f"Layer {self.name!r}: call adapt() or build() first")
        if self.input_mean is not None:
            return (np.broadcast_to(np.asarray(self.input_mean, self.dtype), self._broadcast_shape),
                    np.broadcast_to(np.asarray(self.input_variance, self.dtype),
                                    self._broadcast_shape))
        return (self.adapt_mean.value.reshape(self._broadcast_shape),
                self.adapt_variance.value.reshape(self._broadcast_shape))

    @property
    def mean(self):
        return Tensor(self._mean_variance()[0].copy())

    @property
    def variance(self):
        return Tensor(self._mean_variance()[1].copy())

    def call(self, inputs):
        mean, variance = self._mean_variance()
        scale = np.maximum(np.sqrt(variance), backend.epsilon()).astype(self.dtype)
        inputs = ops.cast(inputs, self.dtype)
        if self.invert:
            return ops.add(ops.multiply(inputs, scale), mean)
        return ops.divide(ops.subtract(inputs, mean), scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": None if self.input_mean is None else np.asarray(self.input_mean).tolist(),
                "variance": None if self.input_variance is None
                else np.asarray(self.input_variance).tolist()}
