"""``keras.losses``: Keras 3 loss functions and classes, differentiable on the tape.

Per-sample loss functions (``mean_squared_error(y_true, y_pred)`` -> one value per sample) are
written with ``keras.ops`` or, where a closed form pays, as one recorded op with its own
backward (binary cross-entropy, the weighted reductions). Cross-entropy with
``from_logits=False`` on a softmax or sigmoid output uses the logits that output carries
(``y_pred._keras_logits``), as Keras' TensorFlow backend does: categorical and sparse
categorical go through the fused ``_nn.softmax_xent`` kernel (one kernel per direction), binary
through the stable logits form. Reductions, sample weights, masks and numerics (epsilon
clipping at ``backend.epsilon()``) follow ``keras/src/losses``.
"""
import inspect
import warnings

import numpy as np

from . import backend, ops
from ._tensor import Tensor, Variable, floatx, record, value_of

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity",
    "Hinge", "Huber", "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "Reduction", "SparseCategoricalCrossentropy",
    "SquaredHinge", "binary_crossentropy", "categorical_crossentropy", "categorical_hinge",
    "cosine_similarity", "deserialize", "get", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "serialize", "sparse_categorical_crossentropy",
    "squared_hinge",
    # aliases
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
    "kullback_leibler_divergence", "logcosh", "bce", "BCE",
]

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


class Reduction:
    """The reduction names (``keras.losses.Reduction`` of tf.keras, kept for old code)."""
    AUTO = "sum_over_batch_size"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"


def standardize_reduction(reduction):
    if reduction == "auto":  # tf.keras' name for the default
        return "sum_over_batch_size"
    if reduction not in _REDUCTIONS:
        raise ValueError("Invalid value for argument `reduction`. Expected one of "
                         f"{set(_REDUCTIONS)}. Received: reduction={reduction!r}")
    return reduction


# --- helpers on tensors and arrays --------------------------------------------------------


def _is_tensor(x):
    return isinstance(x, (Tensor, Variable))


def _float_dtype(x, default=None):
    v = value_of(x)
    dt = getattr(v, "dtype", None)
    if dt is not None and np.issubdtype(np.dtype(dt), np.floating):
        return np.dtype(dt)
    return np.dtype(default or floatx())


def _as_pred(x, dtype=None):
    """y_pred as a Tensor/Variable of ``dtype``, kept as the same object when it already is
    one (so its tape node and its ``_keras_logits`` survive)."""
    v = value_of(x)
    if dtype is None:
        dtype = _float_dtype(x)
    if _is_tensor(x):
        return x if v.dtype == dtype else ops.cast(x, dtype)
    return Tensor(np.asarray(v, dtype=dtype))


def _as_true(x, dtype):
    """y_true as a plain array of ``dtype`` (labels get no gradient)."""
    v = value_of(x)
    if hasattr(v, "__cuda_array_interface__"):
        return v.astype(dtype, copy=False)
    return np.asarray(v, dtype=dtype)


def _shape(x):
    return tuple(np.shape(value_of(x)))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeezes or expands the last axis of one of the two when their ranks differ by one
    and that axis has size 1 (``keras.src.losses.loss.squeeze_or_expand_to_same_rank``).
    Plain arrays stay arrays; Tensors go through recorded ops."""
    def expand(x):
        return ops.expand_dims(x, -1) if _is_tensor(x) else value_of(x)[..., None]

    def squeeze(x):
        return ops.squeeze(x, -1) if _is_tensor(x) else np.squeeze(value_of(x), -1)
    s1, s2 = _shape(x1), _shape(x2)
    r1, r2 = len(s1), len(s2)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and s1[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = expand(x2)
        else:
            x1 = squeeze(x1)
    if r2 == r1 + 1 and s2[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = expand(x1)
        else:
            x2 = squeeze(x2)
    return x1, x2


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merges a boolean mask into the sample weights (``keras.src.losses.loss.apply_mask``);
    plain arrays in and out."""
    if mask is None:
        return sample_weight
    mask = np.asarray(value_of(mask))
    if reduction in ("mean", "sum_over_batch_size"):
        total = mask.size
        valid = np.count_nonzero(mask)
        mask_weight = total / valid if valid else 0.0
        float_mask = np.where(mask.astype(bool), mask_weight, 0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is not None:
        sw = np.asarray(value_of(sample_weight), dtype=dtype)
        float_mask, sw = squeeze_or_expand_to_same_rank(float_mask, sw)
        return sw * float_mask
    return float_mask


def _weighted_reduce(values, weights, reduction):
    """sum(values * weights) [/ divisor] as one recorded op; weights a plain array already
    aligned (broadcastable) with values, or None."""
    v = value_of(values)
    prod = v if weights is None else v * weights
    total = prod.sum(dtype=v.dtype)
    if reduction == "sum":
        divisor = None
    elif reduction == "mean_with_sample_weight" and weights is not None:
        divisor = weights.sum()  # as Keras: the weights as given, not broadcast
    else:
        divisor = prod.size
    if divisor is None:
        out = np.asarray(total, dtype=v.dtype)
        scale = 1.0
    else:
        scale = 1.0 / divisor if divisor != 0 else 0.0  # divide_no_nan
        out = np.asarray(total / divisor if divisor != 0 else 0, dtype=v.dtype)

    def backward(g, needs):
        gs = g * v.dtype.type(scale)
        if weights is None:
            return (np.full(v.shape, gs, dtype=v.dtype),)
        gw = np.broadcast_to(gs * weights, prod.shape)
        return (ops._unbroadcast(gw, v.shape).astype(v.dtype, copy=False),)
    return record(out, (values,), backward)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weights and reduces per-sample losses as ``keras.src.losses.loss`` does."""
    reduction = standardize_reduction(reduction)
    dtype = np.dtype(dtype or _float_dtype(values))
    if not _is_tensor(values):
        values = Tensor(np.asarray(values))
    if value_of(values).dtype != dtype:
        values = ops.cast(values, dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    vshape = _shape(values)
    if sample_weight is not None:
        sw = np.asarray(value_of(sample_weight), dtype=dtype)
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        vshape = _shape(values)
    else:
        sw = None
    if reduction in (None, "none") or vshape == () or vshape == (0,):
        return values if sw is None else ops.multiply(values, sw)
    return _weighted_reduce(values, sw, reduction)


# --- the Loss base class and the wrapper --------------------------------------------------


def _snake_case(name):
    import re
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Loss:
    """Base class of losses (``keras.losses.Loss``): subclass and implement ``call``."""

    # y_true stays an integer array when it is one (sparse labels: no float round trip)
    _keep_int_labels = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or backend.unique_name(_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = str(np.dtype(getattr(dtype, "name", dtype) or floatx()))

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not hasattr(self, "reduction"):
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() in __init__")
        dtype = np.dtype(self._dtype)
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _as_pred(y_pred, dtype)
        yt = value_of(y_true)
        if not (self._keep_int_labels and np.issubdtype(getattr(yt, "dtype", np.float64),
                                                        np.integer)):
            yt = _as_true(yt, dtype)
        losses = self.call(Tensor(yt) if not self._keep_int_labels else yt, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = np.logical_and(value_of(in_mask), value_of(out_mask))
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask,
                                      reduction=self.reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        from .saving import serialize_keras_object
        config = super().get_config()
        config["fn"] = serialize_keras_object(self.fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


def _simple_loss_class(class_name, fn, default_name, doc):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
    cls = type(class_name, (LossFunctionWrapper,), {
        "__init__": __init__, "get_config": get_config, "__doc__": doc,
        "from_config": classmethod(lambda cls, config: cls(**config)),
        "__module__": __name__})
    return cls


# --- per-sample loss functions ------------------------------------------------------------


def _pair(y_true, y_pred):
    """y_pred as a float Tensor, y_true as a plain array of its dtype, ranks aligned."""
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, value_of(y_pred).dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    eps = value_of(y_pred).dtype.type(backend.epsilon())
    denom = np.maximum(np.abs(value_of(y_true)), eps)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), denom))
    return ops.multiply(100.0, ops.mean(diff, axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    dt = value_of(y_pred).dtype
    eps = dt.type(backend.epsilon())
    first_log = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second_log = np.log(np.maximum(value_of(y_true), eps) + dt.type(1)).astype(dt, copy=False)
    return ops.mean(ops.square(ops.subtract(first_log, second_log)), axis=-1)


def _l2_normalize(x, axis):
    """x / sqrt(max(sum(x^2), 1e-12)) (keras.utils.numerical_utils.normalize, order 2)."""
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.divide(1.0, ops.sqrt(ops.maximum(sq, 1e-12))))


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    yt = value_of(y_true)
    sq = (yt * yt).sum(axis=axis, keepdims=True)
    yt_n = yt * (1 / np.sqrt(np.maximum(sq, yt.dtype.type(1e-12))))
    return ops.negative(ops.sum(ops.multiply(yt_n.astype(yt.dtype, copy=False),
                                             _l2_normalize(y_pred, axis)), axis=axis))


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    dt = value_of(y_pred).dtype
    delta = dt.type(delta)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    small = value_of(abs_error) <= delta
    return ops.mean(ops.where(small, ops.multiply(dt.type(0.5), ops.square(error)),
                              ops.subtract(ops.multiply(delta, abs_error),
                                           dt.type(0.5) * delta * delta)), axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    dt = value_of(y_pred).dtype
    x = ops.subtract(y_pred, y_true)
    logcosh = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, dt.type(-2.0)))),
                           dt.type(np.log(2.0)))
    return ops.mean(logcosh, axis=-1)


def kl_divergence(y_true, y_pred):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    eps = dt.type(backend.epsilon())
    yt = np.clip(_as_true(y_true, dt), eps, dt.type(1))
    yp = ops.clip(y_pred, eps, dt.type(1))
    return ops.sum(ops.multiply(yt, ops.log(ops.divide(yt, yp))), axis=-1)


def poisson(y_true, y_pred):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    yt = _as_true(y_true, dt)
    eps = dt.type(backend.epsilon())
    return ops.mean(ops.subtract(y_pred, ops.multiply(yt, ops.log(ops.add(y_pred, eps)))),
                    axis=-1)


def _hinge_labels(yt):
    """Binary 0/1 labels become -1/1; other labels are kept."""
    if np.all((yt == 0) | (yt == 1)):
        return 2 * yt - 1
    return yt


def hinge(y_true, y_pred):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    yt = _hinge_labels(_as_true(y_true, dt))
    return ops.mean(ops.relu(ops.subtract(dt.type(1), ops.multiply(yt, y_pred))), axis=-1)


def squared_hinge(y_true, y_pred):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    yt = _hinge_labels(_as_true(y_true, dt))
    return ops.mean(ops.square(ops.relu(ops.subtract(dt.type(1), ops.multiply(yt, y_pred)))),
                    axis=-1)


def categorical_hinge(y_true, y_pred):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    yt = _as_true(y_true, dt)
    pos = ops.sum(ops.multiply(yt, y_pred), axis=-1)
    neg = ops.max(ops.multiply(1 - yt, y_pred), axis=-1)
    return ops.relu(ops.add(ops.subtract(neg, pos), dt.type(1)))


# --- cross-entropies ----------------------------------------------------------------------


def _logits_of(y_pred, from_logits):
    """(tensor, is_logits): y_pred itself, or the logits a softmax/sigmoid output carries."""
    if from_logits:
        return y_pred, True
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is not None:
        return logits, True
    return y_pred, False


def _last_axis(axis, ndim):
    return axis == -1 or (ndim > 0 and axis == ndim - 1)


def _categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log(softmax or normalized probs)) over ``axis`` (keras.ops version)."""
    t = value_of(target)
    oshape = _shape(output)
    if tuple(t.shape) != oshape:
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(t.shape)}, output.shape={oshape}")
    if len(oshape) < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. "
                         f"Received: target.shape={tuple(t.shape)}, output.shape={oshape}")
    x, is_logits = _logits_of(output, from_logits)
    if is_logits:
        if _last_axis(axis, len(oshape)) and len(oshape) >= 1:
            return _softmax_xent(x, t)
        return ops.negative(ops.sum(ops.multiply(t, ops.log_softmax(x, axis=axis)),
                                    axis=axis))
    dt = value_of(output).dtype
    eps = dt.type(backend.epsilon())
    probs = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    probs = ops.clip(probs, eps, dt.type(1) - eps)
    return ops.negative(ops.sum(ops.multiply(t, ops.log(probs)), axis=axis))


def _softmax_xent(logits, labels):
    from . import _nn
    if not _is_tensor(logits):
        logits = Tensor(np.asarray(logits))
    return _nn.softmax_xent(logits, labels)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    y_true = _as_true(y_true, dt)
    if _shape(y_pred) and _shape(y_pred)[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be "
                      "(batch_size, num_classes) with num_classes > 1. Received: "
                      f"y_pred.shape={_shape(y_pred)}. Consider using 'binary_crossentropy' "
                      "if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = dt.type(y_true.shape[-1])
        y_true = y_true * dt.type(1.0 - label_smoothing) + dt.type(label_smoothing) / num_classes
    return _categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def _check_sparse_labels(labels, num_classes):
    if labels.size:
        lo, hi = labels.min(), labels.max()
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"sparse_categorical_crossentropy: label {bad} is out of range "
                             f"for {num_classes} classes (labels must be in [0, "
                             f"{num_classes - 1}])")


def _sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    t = value_of(target)
    oshape = _shape(output)
    if len(oshape) < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: "
                         f"output.shape={oshape}")
    if t.ndim == len(oshape) and t.shape[axis] == 1:
        t = np.squeeze(t, axis=axis)
    expected = list(oshape)
    del expected[axis]
    if list(t.shape) != expected:
        raise ValueError("Arguments `target` and `output` must have the same shape up until "
                         f"the last dimension: target.shape={tuple(t.shape)}, "
                         f"output.shape={oshape}")
    if not np.issubdtype(t.dtype, np.integer):
        t = t.astype(np.int64)
    k = oshape[axis]
    x, is_logits = _logits_of(output, from_logits)
    if is_logits and _last_axis(axis, len(oshape)):
        return _softmax_xent(x, t)  # its kernel rejects labels outside [0, k) itself
    _check_sparse_labels(t, k)
    if is_logits:
        logp = ops.log_softmax(x, axis=axis)
    else:
        dt = value_of(output).dtype
        eps = dt.type(backend.epsilon())
        probs = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
        logp = ops.log(ops.clip(probs, eps, dt.type(1) - eps))
    picked = ops.take_along_axis(logp, np.expand_dims(t, axis), axis=axis)
    return ops.negative(ops.squeeze(picked, axis=axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    y_pred = _as_pred(y_pred)
    t = value_of(y_true)
    t = t if isinstance(t, np.ndarray) or hasattr(t, "__cuda_array_interface__") \
        else np.asarray(t)
    pshape = _shape(y_pred)
    if t.ndim == len(pshape) and t.ndim and t.shape[axis] == 1:
        t = np.squeeze(t, axis=axis)
    if ignore_class is None:
        return _sparse_categorical_crossentropy(t, y_pred, from_logits=from_logits, axis=axis)
    valid = t != ignore_class
    t = np.where(valid, t, 0)
    res = _sparse_categorical_crossentropy(t, y_pred, from_logits=from_logits, axis=axis)
    valid = valid.reshape(_shape(res))
    res = ops.where(valid, res, value_of(res).dtype.type(0))
    res._keras_mask = valid
    return res


def _sigmoid_xent(target, logits):
    """Element-wise max(x, 0) - x t + log1p(exp(-|x|)): finite for any logit; one op."""
    x = value_of(logits)
    t = value_of(target)
    loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def backward(g, needs):
        return (g * (ops._sigmoid(x) - t),)
    return record(loss.astype(x.dtype, copy=False), (logits,), backward)


def _binary_xent_probs(target, output):
    """-(t log(o) + (1 - t) log(1 - o)) with o clipped to [eps, 1 - eps]; one op."""
    o = value_of(output)
    t = value_of(target)
    eps = o.dtype.type(backend.epsilon())
    one = o.dtype.type(1)
    oc = np.clip(o, eps, one - eps)
    loss = -(t * np.log(oc) + (one - t) * np.log(one - oc))

    def backward(g, needs):
        inside = (o >= eps) & (o <= one - eps)
        return (g * inside * (oc - t) / (oc * (one - oc)),)
    return record(loss.astype(o.dtype, copy=False), (output,), backward)


def _binary_crossentropy(target, output, from_logits=False):
    t = value_of(target)
    oshape = _shape(output)
    if tuple(t.shape) != oshape:
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(t.shape)}, output.shape={oshape}")
    x, is_logits = _logits_of(output, from_logits)
    if is_logits:
        if not _is_tensor(x):
            x = Tensor(np.asarray(x))
        return _sigmoid_xent(t.astype(value_of(x).dtype, copy=False), x)
    return _binary_xent_probs(t, output)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_pred = _as_pred(y_pred)
    dt = value_of(y_pred).dtype
    y_true = _as_true(y_true, dt)
    if label_smoothing:
        y_true = y_true * dt.type(1.0 - label_smoothing) + dt.type(0.5 * label_smoothing)
    return ops.mean(_binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


# --- loss classes -------------------------------------------------------------------------


MeanSquaredError = _simple_loss_class(
    "MeanSquaredError", mean_squared_error, "mean_squared_error",
    "Mean of squares of errors between labels and predictions.")
MeanAbsoluteError = _simple_loss_class(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
    "Mean of absolute differences between labels and predictions.")
MeanAbsolutePercentageError = _simple_loss_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "100 * mean(|(y_true - y_pred) / y_true|).")
MeanSquaredLogarithmicError = _simple_loss_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "mean(square(log(y_true + 1) - log(y_pred + 1))).")
LogCosh = _simple_loss_class("LogCosh", log_cosh, "log_cosh",
                             "Logarithm of the hyperbolic cosine of the prediction error.")
Hinge = _simple_loss_class("Hinge", hinge, "hinge", "mean(maximum(1 - y_true * y_pred, 0)).")
SquaredHinge = _simple_loss_class("SquaredHinge", squared_hinge, "squared_hinge",
                                  "mean(square(maximum(1 - y_true * y_pred, 0))).")
CategoricalHinge = _simple_loss_class("CategoricalHinge", categorical_hinge,
                                      "categorical_hinge", "maximum(neg - pos + 1, 0).")
KLDivergence = _simple_loss_class("KLDivergence", kl_divergence, "kl_divergence",
                                  "y_true * log(y_true / y_pred), summed over the last axis.")
Poisson = _simple_loss_class("Poisson", poisson, "poisson",
                             "mean(y_pred - y_true * log(y_pred + epsilon)).")


class CosineSimilarity(LossFunctionWrapper):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over ``axis``."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype,
                         axis=axis)

    def get_config(self):
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Huber(LossFunctionWrapper):
    """0.5 x^2 for |x| <= delta, else delta |x| - 0.5 delta^2, averaged over the last axis."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self):
        # Keras 3.15 leaves delta out, so a saved Huber(2.0) reloads as Huber(1.0): kept here.
        return {**Loss.get_config(self), "delta": self.delta}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _CrossentropyLoss(LossFunctionWrapper):
    _config_keys = ()

    def get_config(self):
        config = Loss.get_config(self)
        config.update({k: getattr(self, k) for k in self._config_keys})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class BinaryCrossentropy(_CrossentropyLoss):
    """Binary cross-entropy; a sigmoid output is scored from its logits (stable form)."""
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(_CrossentropyLoss):
    """Categorical cross-entropy on one-hot (or soft) labels; a softmax output goes through
    the fused softmax_xent kernel on its logits."""
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_CrossentropyLoss):
    """Cross-entropy on integer labels; a softmax output goes through the fused softmax_xent
    kernel on its logits. Labels equal to ``ignore_class`` count for nothing."""
    _config_keys = ("from_logits", "ignore_class")
    _keep_int_labels = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def call(self, y_true, y_pred):
        # no rank alignment: (n,) or (n, 1) labels against (n, k) predictions
        return sparse_categorical_crossentropy(y_true, y_pred, **self._fn_kwargs)


# --- aliases, lookup and serialization ----------------------------------------------------

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

ALL_OBJECTS = (
    Loss, LossFunctionWrapper, KLDivergence, Poisson, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCosh, Huber, Hinge, SquaredHinge, CategoricalHinge,
    kl_divergence, poisson, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, mean_squared_error, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_logarithmic_error, cosine_similarity,
    log_cosh, huber, hinge, squared_hinge, categorical_hinge,
)
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy, "kld": kl_divergence,
    "KLD": kl_divergence, "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "logcosh": log_cosh, "kullback_leibler_divergence": kl_divergence,
})


def serialize(loss):
    from .saving import serialize_keras_object
    return serialize_keras_object(loss)


def _deserialize_with(table, config, custom_objects, kind):
    """Looks names up in ``table`` (this module's objects) before the global registry, so a
    metric config never resolves to the loss class of the same name and vice versa."""
    from .saving import custom_object_scope, deserialize_keras_object
    custom = dict(custom_objects or {})
    if isinstance(config, str):
        if config in custom:
            return custom[config]
        if config in table:
            return table[config]
        try:
            return deserialize_keras_object(config, custom_objects=custom)
        except ValueError:
            raise ValueError(f"Could not interpret {kind} identifier: {config!r}") from None
    if isinstance(config, dict) and "class_name" in config:
        name = config["class_name"]
        if name == "function":
            fn_name = config.get("config")
            if fn_name in custom:
                return custom[fn_name]
            if fn_name in table and not inspect.isclass(table[fn_name]):
                return table[fn_name]
        elif name not in custom and name in table and inspect.isclass(table[name]) and \
                config.get("registered_name") in (None, name):
            with custom_object_scope(custom):
                return table[name].from_config(dict(config.get("config") or {}))
    return deserialize_keras_object(config, custom_objects=custom)


def deserialize(name, custom_objects=None):
    """A Loss instance or loss function from ``serialize``'s output or a name."""
    return _deserialize_with(ALL_OBJECTS_DICT, name, custom_objects, "loss")


def get(identifier):
    """A loss function or Loss instance from a name, a config dict, a callable or None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Known "
                             f"names: {sorted(ALL_OBJECTS_DICT)}")
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
