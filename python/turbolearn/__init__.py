"""turbolearn: scikit-learn and Keras APIs on fused C++ and CUDA kernels."""
import os

# A woken OpenMP team that then sleeps (OMP_WAIT_POLICY=PASSIVE) costs ~50 us a parallel
# region; a training step runs a dozen regions a batch, and its MLP epoch took 1.10 s instead
# of 0.86 s (an LSTM epoch 0.29 s instead of 0.19 s). libgomp's default spin (300,000 turns,
# ~15 ms here) is the opposite extreme: threads spinning that long after their work took the
# cores from other runtimes' threads (BLAS, another library's OpenMP) and made steps 5-20x
# slower. Waiting passively after 30,000 turns (~1.5 ms here) keeps a team awake between
# the kernels of a step and no longer. Read once, when the OpenMP runtime loads; a user's
# wait policy wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")
from . import cuda
from ._config import get_num_threads, set_num_threads, show_config

__version__ = "0.1.0"
__all__ = ["__version__", "cuda", "get_num_threads", "set_num_threads", "show_config"]
