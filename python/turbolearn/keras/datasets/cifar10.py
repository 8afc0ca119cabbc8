"""CIFAR-10: 50,000 training and 10,000 test 32 x 32 colour images in 10 classes, from the
python version of the original archive (pickled batches, read with an unpickler that accepts
nothing but NumPy arrays)."""
import os

import numpy as np

from ..utils.file_utils import get_file
from ._restricted import RestrictedUnpickler

__all__ = ["load_batch", "load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
NUM_TRAIN_SAMPLES = 50000


def load_batch(fpath, label_key="labels"):
    """(data (n, 3, 32, 32) uint8, labels) of one pickled CIFAR batch."""
    with open(fpath, "rb") as f:
        d = RestrictedUnpickler(f, encoding="bytes").load()
    d = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in d.items()}
    data = d["data"]
    labels = d[label_key]
    return data.reshape(data.shape[0], 3, 32, 32), labels


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 32, 32, 3) (channels last)
    and uint8 labels (n, 1)."""
    path = get_file(fname="cifar-10-batches-py-target", origin=ORIGIN, extract=True,
                    file_hash=FILE_HASH)
    path = os.path.join(path, "cifar-10-batches-py")
    batch = NUM_TRAIN_SAMPLES // 5
    x_train = np.empty((NUM_TRAIN_SAMPLES, 3, 32, 32), dtype="uint8")
    y_train = np.empty((NUM_TRAIN_SAMPLES,), dtype="uint8")
    for i in range(1, 6):
        data, labels = load_batch(os.path.join(path, f"data_batch_{i}"))
        if len(data) != batch:
            raise ValueError(f"CIFAR-10 batch data_batch_{i} holds {len(data)} images, "
                             f"expected {batch}: the archive is not CIFAR-10's")
        x_train[(i - 1) * batch:i * batch] = data
        y_train[(i - 1) * batch:i * batch] = labels
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    x_train = x_train.transpose(0, 2, 3, 1)
    x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test.astype(x_train.dtype), y_test.astype(y_train.dtype))
