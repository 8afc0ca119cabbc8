"""California housing (Pace and Barry, 1997): 20,640 districts, 8 features, the median
house value as target, as Keras 3 distributes it (an .npz of x and y)."""
import numpy as np

from ..utils.file_utils import get_file

__all__ = ["load_data"]

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float32 features (n, 8) and float32 targets
    (n,), shuffled with ``seed`` and split ``test_split``; ``version='small'`` keeps the
    first 600 districts."""
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 "
                         "and 1 (exclusive of 1).")
    path = get_file(path, origin=f"{ORIGIN_FOLDER}california_housing.npz",
                    file_hash=FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError("Argument `version` must be one of 'small', 'large'. Received: "
                         f"version={version}")
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (np.array(x[:n_train]), np.array(y[:n_train])), \
        (np.array(x[n_train:]), np.array(y[n_train:]))
