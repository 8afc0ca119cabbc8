"""The global random state of turbolearn.keras.

Every unseeded draw (initializers with ``seed=None``, Dropout and the noise layers without a
seed) comes from one NumPy ``Generator``; ``set_seed`` (called by
``keras.utils.set_random_seed``) reseeds it, so a whole program becomes reproducible. A seeded
object keeps its own generator instead.
"""
import numpy as np

__all__ = ["make_generator", "seed_generator", "set_seed"]

_GLOBAL = [np.random.default_rng()]


def seed_generator():
    """The global ``numpy.random.Generator`` unseeded draws come from."""
    return _GLOBAL[0]


def set_seed(seed):
    """Reseeds the global generator (``keras.utils.set_random_seed`` calls this)."""
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)
                             or seed < 0):
        raise ValueError(f"The seed must be a non-negative integer or None, got {seed!r}")
    _GLOBAL[0] = np.random.default_rng(seed)


def make_generator(seed):
    """A private generator for an integer ``seed``; for None, a draw-time view of the global
    generator (so a later ``set_seed`` still applies)."""
    if seed is None:
        return None
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer or None. Received: seed={seed!r}")
    return np.random.default_rng(int(seed))


def generator_or_global(rng):
    """``rng`` when not None, else the global generator at the time of the draw."""
    return rng if rng is not None else _GLOBAL[0]
