"""``keras.regularizers`` (minimal core: extended by the layers work)."""
__all__ = ["Regularizer", "get"]


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}


def get(identifier):
    if identifier is None or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
