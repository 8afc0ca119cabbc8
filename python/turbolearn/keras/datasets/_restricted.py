"""Reading the pickled CIFAR batches without running code: only NumPy's array
reconstruction may be unpickled (Keras 3's RestrictedUnpickler)."""
import pickle

_ALLOWED_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global but NumPy's array reconstruction."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to deserialize `{module}.{name}` while loading "
                                     "a Keras dataset. The file may be corrupted or malicious.")
