"""The real CUDA extension on a machine without a GPU: it imports, reads
__cuda_array_interface__ arguments with the same checks as the CPU bindings, and fails
with a clear error instead of crashing when there is no device to run on."""
import numpy as np
import pytest

from turbolearn import cuda
from turbolearn._ops import _backend

_cuda = _backend._cuda
pytestmark = pytest.mark.skipif(_cuda is None, reason="turbolearn was built without nvcc")


class DeviceArray:
    """Host memory dressed as a device array: enough to reach the binding's checks."""

    def __init__(self, host, strides=None):
        self.host = host
        self.__cuda_array_interface__ = {
            "shape": host.shape,
            "typestr": host.dtype.str,
            "data": (host.ctypes.data, not host.flags.writeable),
            "strides": strides,
            "version": 3,
        }


def test_import_without_gpu_reports_no_device():
    if cuda.is_available():
        pytest.skip("a GPU is present: the GPU tests run instead")
    assert _cuda.device_count() == 0


@pytest.mark.parametrize(
    "X,error,match",
    [
        (DeviceArray(np.zeros((3, 2), np.int32)), TypeError, "float32 or float64"),
        (DeviceArray(np.zeros(3)), ValueError, "2-D"),
        (DeviceArray(np.zeros((3, 2)), strides=(8, 24)), ValueError, "C-contiguous"),
        (np.zeros((3, 2)), TypeError, "CUDA device array"),
    ],
)
def test_bad_device_arguments_are_refused(X, error, match):
    out = DeviceArray(np.zeros((3, 3)))
    with pytest.raises(error, match=match):
        _cuda.pairwise_distances(X, X, out, "euclidean", True, 0)


def test_no_device_gives_a_clear_error_not_a_crash():
    if cuda.is_available():
        pytest.skip("a GPU is present")
    X = DeviceArray(np.zeros((4, 3)))
    dist, idx = DeviceArray(np.zeros((4, 2))), DeviceArray(np.zeros((4, 2), np.int64))
    with pytest.raises(RuntimeError, match="CUDA error"):
        _cuda.argkmin(X, X, 2, dist, idx, "manhattan", True, 0)
