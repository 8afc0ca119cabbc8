"""Argument checks shared by the op families (the bindings check everything else)."""
import os


def thread_count(n_threads):
    """None: the library's count (0 to the kernels); -1: every core; n: n."""
    if n_threads is None:
        return 0
    if n_threads == -1:
        return os.cpu_count() or 1
    if n_threads < 1:
        raise ValueError(f"n_threads must be None, -1 or >= 1, got {n_threads}")
    return int(n_threads)


def require_matrix(a, name):
    if getattr(a, "ndim", None) != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {getattr(a, 'shape', None)}")
