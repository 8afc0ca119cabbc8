"""Whether turbolearn can run on an NVIDIA GPU here."""
from ._ops._backend import _cuda


def device_count():
    """GPUs the CUDA runtime sees (0 without a driver, a GPU, or a CUDA build)."""
    return _cuda.device_count() if _cuda is not None else 0


def is_available():
    """True when turbolearn was built with CUDA and a GPU is present."""
    return device_count() > 0
