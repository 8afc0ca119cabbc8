"""``keras.initializers``: the Keras 3 initializers, drawing with NumPy.

An initializer is called as ``init(shape, dtype=None)`` and returns an array. With an integer
``seed`` every call returns the same values (as in Keras); with ``seed=None`` each call draws
from the global generator of ``turbolearn.keras.random`` (reseeded by
``keras.utils.set_random_seed``), so two layers sharing one unseeded initializer get different
weights (Keras returns the same values again and warns).
"""
import math

import numpy as np

from . import random as _random
from ._tensor import floatx, value_of

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Zeros", "compute_fans", "constant", "deserialize", "get",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "serialize",
    "truncated_normal", "variance_scaling", "zeros",
]

# Standard deviation of a standard normal truncated to [-2, 2] (Keras' correction factor).
_TRUNCATED_STD = 0.87962566103423978


def _shape(shape):
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise ValueError(f"An initializer needs a shape of integers, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"An initializer needs non-negative dimensions, got shape {shape}")
    return shape


def _dtype(dtype):
    return np.dtype(dtype or floatx())


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape, as Keras computes them: (in, out) for a matrix,
    receptive field x channels for a convolution kernel (..., in_channels, out_channels)."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes])),
                int(np.prod([shape[a] for a in output_axes])))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[:-2]))
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype)")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Fills with ``value`` (a scalar, or an array that broadcasts to the shape)."""

    def __init__(self, value=0.0):
        value = value_of(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        try:
            return np.broadcast_to(np.asarray(self.value, dtype=_dtype(dtype)), shape).copy()
        except ValueError:
            raise ValueError(f"Constant initializer: value of shape {np.shape(self.value)} "
                             f"cannot fill a tensor of shape {shape}") from None

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """An initializer that draws: a private generator per call for an integer seed (the same
    values each call), the global generator for ``seed=None``."""

    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or
                                 isinstance(seed, bool) or seed < 0):
            raise ValueError("`seed` argument should be a non-negative integer or None. "
                             f"Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _rng(self):
        return (np.random.default_rng(self.seed) if self.seed is not None
                else _random.seed_generator())

    def _normal(self, shape, dtype, mean, stddev):
        return (mean + stddev * self._rng().standard_normal(shape)).astype(dtype)

    def _truncated(self, shape, dtype, mean, stddev):
        """Normal draws more than two standard deviations from the mean are redrawn."""
        rng = self._rng()
        z = rng.standard_normal(shape)
        bad = np.abs(z) > 2
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2
        return (mean + stddev * z).astype(dtype)

    def _uniform(self, shape, dtype, low, high):
        return self._rng().uniform(low, high, size=shape).astype(dtype)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        return self._normal(_shape(shape), _dtype(dtype), self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal draws, those beyond two standard deviations redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None):
        return self._truncated(_shape(shape), _dtype(dtype), self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape, dtype=None):
        return self._uniform(_shape(shape), _dtype(dtype), self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Draws with variance ``scale / n``, n the fan_in, fan_out or their average.

    ``truncated_normal`` (``normal`` is an alias) divides the standard deviation by
    0.87962566 so the truncated draws keep that variance; ``uniform`` draws in
    [-sqrt(3 scale / n), sqrt(3 scale / n)].
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if not isinstance(scale, (int, float, np.floating)) or not scale > 0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Please use one of "
                             "'fan_in', 'fan_out', 'fan_avg'")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. Please use "
                             "one of 'uniform', 'truncated_normal', 'untruncated_normal'")
        super().__init__(seed)
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape(shape), _dtype(dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return self._truncated(shape, dtype, 0.0, math.sqrt(scale) / _TRUNCATED_STD)
        if self.distribution == "untruncated_normal":
            return self._normal(shape, dtype, 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return self._uniform(shape, dtype, -limit, limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in ±sqrt(6 / (fan_in + fan_out)) (Keras' default kernel "
                        "initializer).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with stddev sqrt(2 / (fan_in + fan_out)).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal with stddev sqrt(2 / fan_in).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "Uniform in ±sqrt(6 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal with stddev sqrt(1 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in ±sqrt(3 / fan_in).")


class Orthogonal(RandomInitializer):
    """An orthogonal matrix (QR of a normal draw, signs made uniform) times ``gain``; shapes
    of rank > 2 are flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal

# snake_case aliases, as keras.initializers has them
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros

_CLASSES = (Initializer, Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform,
            HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, RandomNormal,
            RandomUniform, TruncatedNormal, VarianceScaling)


def _snake(name):
    import re
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def module_objects(classes, aliases=None):
    """name -> class for ``get``/``deserialize``: class names, snake_case names, aliases."""
    table = {cls.__name__: cls for cls in classes}
    table.update({_snake(cls.__name__): cls for cls in classes})
    table.update(aliases or {})
    return table


ALL_OBJECTS_DICT = module_objects(_CLASSES, {
    "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros})


def _user_object(name, custom_objects):
    from . import saving
    for table in (custom_objects or {}, getattr(saving._scope, "objects", {}),
                  saving.get_custom_objects()):
        if name in table:
            return table[name]
    return None


def deserialize_from(config, objects, custom_objects=None, kind="object"):
    """The object a name or ``{"class_name", "config"}`` dict describes: user objects
    (``custom_objects``, scopes, registered) first, then this module's ``objects``."""
    from . import saving
    if isinstance(config, str):
        found = _user_object(config, custom_objects) or objects.get(config)
        if found is None:
            raise ValueError(f"Could not interpret {kind} identifier: {config!r}. "
                             f"Known: {sorted(k for k in objects if k[0].islower())}")
        return found
    if isinstance(config, dict) and "class_name" in config:
        name = config.get("registered_name") or config["class_name"]
        if _user_object(name, custom_objects) is None and \
                _user_object(config["class_name"], custom_objects) is None and \
                config["class_name"] in objects:
            cls = objects[config["class_name"]]
            return cls.from_config(config.get("config") or {})
    return saving.deserialize_keras_object(config, custom_objects=custom_objects)


def serialize(initializer):
    from .saving import serialize_keras_object
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    obj = deserialize_from(config, ALL_OBJECTS_DICT, custom_objects, "initializer")
    return obj() if isinstance(obj, type) else obj


def get(identifier):
    """An initializer from None, a name ("he_normal", "HeNormal"), a config dict, a class, an
    instance, a callable ``(shape, dtype=None)`` or an array (used as the value)."""
    if identifier is None:
        return None
    if isinstance(identifier, (dict, str)):
        obj = deserialize(identifier)
    elif isinstance(identifier, np.ndarray) or hasattr(identifier, "__cuda_array_interface__") \
            or type(identifier).__name__ == "Tensor":
        value = np.asarray(value_of(identifier))

        def initialize_fn(shape, dtype=None):
            if tuple(shape) != value.shape:
                raise ValueError(f"Expected `shape` to be {value.shape} for direct tensor as "
                                 f"initializer. Received shape={tuple(shape)}")
            return value.astype(_dtype(dtype))
        obj = initialize_fn
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
    return obj
