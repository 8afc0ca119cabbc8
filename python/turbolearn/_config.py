"""Library-wide settings and the build/runtime report."""
import sys

from . import _cpu


def set_num_threads(n):
    """Threads every kernel uses (OpenMP's count, so threadpoolctl sees and limits it too)."""
    _cpu.set_num_threads(int(n))


def get_num_threads():
    return _cpu.get_num_threads()


def _blas_description():
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib["user_api"] == "blas" and "scipy.libs" in lib["filepath"]:
            return f"{lib['internal_api']} {lib['version']} ({lib.get('architecture', '?')}), from SciPy"
    return "SciPy's BLAS (scipy.linalg.cython_blas)"


def show_config(file=None):
    """Print version, compiler, SIMD level, threads, BLAS and CUDA status."""
    from . import __version__, cuda
    from ._ops._backend import _cuda, _cuda_emu

    info = _cpu.build_info()
    if _cuda is not None:
        cuda_info = _cuda.build_info()
        compiled = f"yes (runtime {cuda_info['cuda_runtime']}, {cuda_info['cuda_architectures']})"
    else:
        compiled = "no"
    lines = [
        f"turbolearn {__version__}",
        f"compiler:        {info['compiler']}",
        f"SIMD level:      {_cpu.simd_level()} (CPU supports {_cpu.simd_detected()})",
        f"threads:         {get_num_threads()} (OpenMP)",
        f"BLAS:            {_blas_description()}",
        f"CUDA compiled:   {compiled}",
        f"GPU present:     {'yes, %d device(s)' % cuda.device_count() if cuda.is_available() else 'no'}",
        f"CUDA emulation:  {'built' if _cuda_emu is not None else 'not built'}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
