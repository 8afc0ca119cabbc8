"""``keras.constraints`` (minimal core: extended by the layers work)."""
__all__ = ["Constraint", "get"]


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self):
        return {}


def get(identifier):
    if identifier is None or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
