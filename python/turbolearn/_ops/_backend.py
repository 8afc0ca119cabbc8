"""The compiled extensions, the BLAS handed to them, and which one runs a call.

NumPy arrays go to ``_cpu``; CuPy arrays to ``_cuda``. Tests can send NumPy arrays to
``_cuda_emu`` (the CUDA kernels run by the CPU emulation) with :func:`use_backend`.
"""
import contextlib
import ctypes
import functools
import os
import re
import threading

import numpy as np

from .. import _cpu

try:
    from .. import _cuda_emu
except ImportError:  # built without the emulation
    _cuda_emu = None
try:
    from .. import _cuda
except ImportError:  # built without a CUDA toolkit
    _cuda = None

BACKENDS = ("cpu", "cuda_emu")
_forced = threading.local()


def _blas_thread_functions():
    """Addresses of the thread-count setter and getter of the OpenBLAS behind SciPy, or 0s.

    The kernels call BLAS from inside their own OpenMP regions and make it single-threaded
    there, so it must be SciPy's copy, not NumPy's, that they adjust.
    """
    from threadpoolctl import ThreadpoolController

    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.internal_api == "openblas"]
    scipy_blas = [lib for lib in blas if "scipy" in os.path.basename(os.path.dirname(lib.filepath))]
    for lib in scipy_blas or blas[:1]:
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_"):
                setter = getattr(lib.dynlib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib.dynlib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    as_int = lambda f: ctypes.cast(f, ctypes.c_void_p).value  # noqa: E731
                    return as_int(setter), as_int(getter)
    return 0, 0


def _hand_over_blas():
    from scipy.linalg import cython_blas

    capi = cython_blas.__pyx_capi__
    set_threads, get_threads = _blas_thread_functions()
    for module in (_cpu, _cuda_emu):
        if module is not None:
            module.set_blas(capi["sgemm"], capi["dgemm"], set_threads, get_threads)


_hand_over_blas()


@functools.cache
def _cublas_entry_points():
    """cublasSgemm_v2, cublasDgemm_v2 and cublasSetStream_v2 of the cuBLAS CuPy loaded."""
    from cupy_backends.cuda.libs import cublas  # noqa: F401  (loads libcublas)

    with open("/proc/self/maps") as maps:
        path = next(line.split()[-1] for line in maps if re.search(r"/libcublas\.so", line))
    lib = ctypes.CDLL(path)
    names = ("cublasSgemm_v2", "cublasDgemm_v2", "cublasSetStream_v2")
    return tuple(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for name in names)


def _bind_cuda_stream():
    """Points _cuda at CuPy's current cuBLAS handle and stream, so results are stream-ordered."""
    import cupy

    handle = cupy.cuda.device.get_cublas_handle()
    _cuda.set_gpu_blas(handle, cupy.cuda.get_current_stream().ptr, *_cublas_entry_points())


def _is_device_array(a):
    return hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray)


def module_for(*arrays):
    """The extension that runs a call on these arrays (all on one device)."""
    # Fast path, the common case of a training loop: plain NumPy arrays, no forced backend
    # (a fraction of a microsecond; the general checks below cost about two).
    if getattr(_forced, "name", "cpu") == "cpu":
        for a in arrays:
            if type(a) is not np.ndarray:
                break
        else:
            return _cpu
    on_device = [_is_device_array(a) for a in arrays]
    if any(on_device) and not all(on_device):
        raise TypeError("all arrays must be on the same device (all NumPy or all CuPy)")
    if all(on_device):
        if _cuda is None:
            raise RuntimeError("got CuPy arrays, but turbolearn was built without CUDA")
        _bind_cuda_stream()
        return _cuda
    for a in arrays:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"expected a NumPy or CuPy array, got {type(a).__name__}")
    if getattr(_forced, "name", "cpu") == "cuda_emu":
        if _cuda_emu is None:
            raise RuntimeError("turbolearn was built without the CUDA emulation")
        return _cuda_emu
    return _cpu


def array_namespace(*arrays):
    """numpy or cupy, whichever the arrays belong to."""
    if any(_is_device_array(a) for a in arrays):
        import cupy

        return cupy
    return np


@contextlib.contextmanager
def use_backend(name):
    """Send NumPy arrays to another backend in this thread: ``"cpu"`` or ``"cuda_emu"``."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    previous = getattr(_forced, "name", "cpu")
    _forced.name = name
    try:
        yield
    finally:
        _forced.name = previous
