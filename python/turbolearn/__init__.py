"""turbolearn: scikit-learn and Keras APIs on fused C++ and CUDA kernels."""
import os

# OpenMP threads that spin after a parallel region take the cores from the BLAS threads of the
# next GEMM, and the reverse: a Keras training step alternates the two thousands of times per
# epoch and ran 5-20x slower. Sleeping waiters cost nothing measurable on the long kernels
# (KMeans, kNN: same times). Read once, when the OpenMP runtime loads; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from . import cuda
from ._config import get_num_threads, set_num_threads, show_config

__version__ = "0.1.0"
__all__ = ["__version__", "cuda", "get_num_threads", "set_num_threads", "show_config"]
