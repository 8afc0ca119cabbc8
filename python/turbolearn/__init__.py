"""turbolearn: scikit-learn and Keras APIs on fused C++ and CUDA kernels."""
from . import cuda
from ._config import get_num_threads, set_num_threads, show_config

__version__ = "0.1.0"
__all__ = ["__version__", "cuda", "get_num_threads", "set_num_threads", "show_config"]
