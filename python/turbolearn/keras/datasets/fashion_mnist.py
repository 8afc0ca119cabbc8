"""Fashion-MNIST: 60,000 training and 10,000 test 28 x 28 grayscale images of 10 kinds of
clothing, as the four gzipped IDX files of the original distribution."""
import gzip
import os

import numpy as np

from ..utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28) and uint8 labels
    (n,), classes 0 T-shirt/top ... 9 Ankle boot."""
    dirname = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(fname, origin=ORIGIN_FOLDER + fname, cache_subdir=dirname)
             for fname in FILES]
    with gzip.open(paths[0], "rb") as f:
        y_train = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(paths[1], "rb") as f:
        x_train = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(y_train), 28, 28)
    with gzip.open(paths[2], "rb") as f:
        y_test = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(paths[3], "rb") as f:
        x_test = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
