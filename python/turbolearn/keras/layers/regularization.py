"""Regularization layers: Dropout, AlphaDropout, GaussianNoise, GaussianDropout,
ActivityRegularization.

The noise layers act only when called with a truthy ``training`` (``fit`` passes True; a bare
call or ``predict`` leaves them the identity). Their draws come from a private NumPy generator
when a ``seed`` is given (a reproducible sequence of masks), else from the global generator of
``turbolearn.keras.random`` (reseeded by ``keras.utils.set_random_seed``).
"""
import math

import numpy as np

from .. import ops, random as _random, regularizers
from .layer import Layer

__all__ = ["ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout",
           "GaussianNoise"]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _check_rate(layer, rate):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate` of {layer}. Expected a "
                         f"float value between 0 and 1. Received: rate={rate!r}")


def _float_dtype(x):
    dtype = np.dtype(str(getattr(x, "dtype", "float32")))
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype("float32")


class _Noise(Layer):
    """Shared seed handling of the noise layers."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = _random.make_generator(seed)
        self.supports_masking = True

    def _generator(self):
        return _random.generator_or_global(self._rng)

    def _noise_shape(self, inputs, noise_shape):
        shape = tuple(inputs.shape)
        if noise_shape is None:
            return shape
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != len(shape):
            raise ValueError(f"Layer {self.name!r}: noise_shape {noise_shape} must have the "
                             f"rank of the inputs, shape {shape}")
        concrete = tuple(s if n is None else int(n) for n, s in zip(noise_shape, shape))
        if any(n not in (1, s) for n, s in zip(concrete, shape)):
            raise ValueError(f"Layer {self.name!r}: noise_shape {noise_shape} does not "
                             f"broadcast to the input shape {shape}")
        return concrete

    def compute_output_shape(self, input_shape):
        return input_shape


class Dropout(_Noise):
    """In training, zeroes each input unit with probability ``rate`` and scales the rest by
    1 / (1 - rate); the identity otherwise. ``noise_shape`` shares the mask along axes of
    size 1 (None entries take the input's size)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        _check_rate("Dropout", rate)
        super().__init__(seed=seed, **kwargs)
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        dtype = _float_dtype(inputs)
        if self.rate == 1:
            return ops.multiply(inputs, np.zeros((), dtype=dtype))
        shape = self._noise_shape(inputs, self.noise_shape)
        keep = self._generator().random(shape) >= self.rate
        mask = keep.astype(dtype) / dtype.type(1 - self.rate)
        return ops.multiply(inputs, mask)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of SELU activations: dropped units are set to
    -SELU_alpha * SELU_scale, then an affine map restores the moments."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        _check_rate("AlphaDropout", rate)
        super().__init__(seed=seed, **kwargs)
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(f"Layer {self.name!r} (AlphaDropout): rate=1 drops every unit; "
                             "the affine correction is undefined")
        dtype = _float_dtype(inputs)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        shape = self._noise_shape(inputs, self.noise_shape)
        kept = (self._generator().random(shape) >= self.rate).astype(dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * kept + alpha_p * (1 - kept)) + b
        scale = (a * kept).astype(dtype)
        shift = (a * alpha_p * (1 - kept) + b).astype(dtype)
        return ops.add(ops.multiply(inputs, scale), shift)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class GaussianNoise(_Noise):
    """In training, adds zero-mean Gaussian noise of standard deviation ``stddev``."""

    def __init__(self, stddev, seed=None, **kwargs):
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise ValueError("Invalid value received for argument `stddev` of GaussianNoise. "
                             f"Expected a non-negative float. Received: stddev={stddev!r}")
        super().__init__(seed=seed, **kwargs)
        self.stddev = stddev

    def call(self, inputs, training=False):
        if not training or self.stddev <= 0:
            return inputs
        dtype = _float_dtype(inputs)
        noise = (self.stddev * self._generator().standard_normal(tuple(inputs.shape)))
        return ops.add(inputs, noise.astype(dtype))

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """In training, multiplies by Gaussian noise of mean 1 and variance rate / (1 - rate)."""

    def __init__(self, rate, seed=None, **kwargs):
        _check_rate("GaussianDropout", rate)
        super().__init__(seed=seed, **kwargs)
        self.rate = rate

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(f"Layer {self.name!r} (GaussianDropout): rate must be below 1")
        dtype = _float_dtype(inputs)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = 1.0 + stddev * self._generator().standard_normal(tuple(inputs.shape))
        return ops.multiply(inputs, noise.astype(dtype))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum|x| + l2 * sum(x**2)`` (per sample) to the losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
