"""``keras.initializers`` (minimal core: extended by the layers work)."""
import numpy as np

__all__ = ["GlorotUniform", "Initializer", "Zeros", "get"]


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or "float32")


class GlorotUniform(Initializer):
    def __init__(self, seed=None):
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = (shape[-2], shape[-1]) if len(shape) >= 2 else (shape[0], shape[0])
        rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = np.sqrt(6.0 / ((fan_in + fan_out) * rf))
        return self._rng.uniform(-limit, limit, size=shape).astype(dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


_BY_NAME = {"zeros": Zeros, "glorot_uniform": GlorotUniform}


def get(identifier):
    if isinstance(identifier, str):
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        from .saving import deserialize_keras_object
        return deserialize_keras_object(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
