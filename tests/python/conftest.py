import os

# scikit-learn's array-API estimator check runs only when SciPy is imported with this set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# Keras 3, the reference for turbolearn.keras, runs on the installed PyTorch (no TensorFlow).
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

from turbolearn import _cpu, _ops

SIMD_LEVELS = ["baseline", "avx2", "avx512"]  # in order: a CPU with one has those before it


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def k3():
    """Keras 3 (on torch, as set above): the reference the keras tests compare against."""
    return pytest.importorskip("keras")


@pytest.fixture(params=["cpu", "cuda_emu"])
def backend(request):
    """Runs the test on the CPU kernels and on the CUDA kernels under emulation."""
    with _ops.use_backend(request.param):
        yield request.param


@pytest.fixture(params=SIMD_LEVELS)
def simd_level(request):
    """Runs the test with the CPU kernels at each SIMD level (skipping a level this CPU lacks)
    and restores the level the test found, whatever the test does."""
    level = request.param
    if SIMD_LEVELS.index(level) > SIMD_LEVELS.index(_cpu.simd_detected()):
        pytest.skip(f"this CPU has no {level}")
    previous = _cpu.simd_level()
    _cpu.set_simd_level(level)
    yield level
    _cpu.set_simd_level(previous)
