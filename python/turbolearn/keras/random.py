"""TEMPORARY: replaced by the layers branch's keras/random.py."""
import numpy as np

_rng = [np.random.default_rng()]


def seed_generator():
    return _rng[0]


def set_seed(seed):
    _rng[0] = np.random.default_rng(seed)
