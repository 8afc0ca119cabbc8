import os

# scikit-learn's array-API estimator check runs only when SciPy is imported with this set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# Keras 3, the reference for turbolearn.keras, runs on the installed PyTorch (no TensorFlow).
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

from turbolearn import _ops

SIMD_LEVELS = [lvl for lvl in ("baseline", "avx2", "avx512")]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=["cpu", "cuda_emu"])
def backend(request):
    """Runs the test on the CPU kernels and on the CUDA kernels under emulation."""
    with _ops.use_backend(request.param):
        yield request.param
