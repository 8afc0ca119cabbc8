"""``keras.backend``: floatx, epsilon, layer-name counters and ``clear_session``."""
import collections
import threading

from ._tensor import floatx, set_floatx

__all__ = ["clear_session", "epsilon", "floatx", "set_epsilon", "set_floatx", "unique_name"]

_state = threading.local()
_EPSILON = [1e-7]


def epsilon():
    return _EPSILON[0]


def set_epsilon(value):
    _EPSILON[0] = float(value)


def _counts():
    if not hasattr(_state, "counts"):
        _state.counts = collections.Counter()
    return _state.counts


def unique_name(base):
    """Keras' automatic names: 'dense', 'dense_1', 'dense_2', ... until clear_session()."""
    counts = _counts()
    n = counts[base]
    counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session(free_memory=True):
    """Resets the automatic layer names (and nothing else needs freeing here)."""
    _counts().clear()
