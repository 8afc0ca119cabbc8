"""Turning fit/evaluate/predict arguments into batches: arrays (or lists/dicts of them) that
are sliced, or an iterable of ready-made batches."""
import numpy as np

from .._tensor import _flatten, _pack_like, floatx, value_of


def to_arrays(data):
    """NumPy arrays in data's structure; floating data in floatx, as Keras converts it."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: to_arrays(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(
            hasattr(v, "shape") or hasattr(v, "to_numpy") for v in data):
        return type(data)(to_arrays(v) for v in data)  # several inputs or outputs
    value = value_of(data)
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    if hasattr(value, "__cuda_array_interface__"):
        return value
    array = np.asarray(value)
    if array.dtype.kind == "f" and array.dtype != floatx():
        array = array.astype(floatx())
    elif array.dtype.kind == "b":
        array = array.astype(floatx())
    return array


def is_batch_iterable(x):
    """True for generators and dataset-like objects that yield (x, y[, sample_weight])."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "shape"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def n_samples(*structures):
    """The common number of samples of every array; a clear error when they differ."""
    sizes = {}
    for name, s in zip(("x", "y", "sample_weight"), structures):
        if s is not None:
            sizes[name] = [len(a) for a in _flatten(s)]
    counts = {n for v in sizes.values() for n in v}
    if len(counts) > 1:
        detail = "\n".join(f"'{k}' sizes: {', '.join(map(str, v))}" for k, v in sizes.items())
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same "
                         f"number of samples.\n{detail}")
    if not counts:
        raise ValueError("No data given: x is None or empty")
    return counts.pop()


def take(structure, index):
    if structure is None:
        return None
    if isinstance(structure, np.ndarray):  # the usual case, once per batch
        return structure[index]
    return _pack_like(structure, iter([a[index] for a in _flatten(structure)]))


def split_validation(x, y, sample_weight, fraction):
    """Keras' validation_split: the last ``fraction`` of the samples, before shuffling."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    n = n_samples(x, y, sample_weight)
    cut = int(n * (1 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={fraction} leaves no training or no validation "
                         f"samples out of {n}")
    head, tail = slice(0, cut), slice(cut, n)
    return ((take(x, head), take(y, head), take(sample_weight, head)),
            (take(x, tail), take(y, tail), take(sample_weight, tail)))


def unpack(batch):
    """(x, y, sample_weight) from a batch tuple of 1, 2 or 3 elements."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
    if isinstance(batch, list) and len(batch) in (2, 3):
        return unpack(tuple(batch))
    return batch, None, None


def class_weights_to_sample_weight(y, class_weight):
    """One weight per sample from its class (sparse labels or one-hot rows)."""
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    table = np.ones(max(int(labels.max(initial=0)) + 1, max(class_weight) + 1), floatx())
    for cls, weight in class_weight.items():
        table[int(cls)] = weight
    return table[labels]
