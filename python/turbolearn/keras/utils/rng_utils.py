"""``set_random_seed``: one seed for everything that draws random numbers."""
import random

import numpy as np

__all__ = ["set_random_seed"]


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy's global state and turbolearn.keras' own generator
    (initializers, dropout, shuffling), as Keras' ``set_random_seed`` does for its backend."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError("Expected `seed` argument to be an integer. "
                         f"Received: seed={seed} (of type {type(seed)})")
    from .. import random as keras_random
    random.seed(seed)
    np.random.seed(seed)
    keras_random.set_seed(seed)
