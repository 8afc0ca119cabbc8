"""``keras.metrics``: stateful Keras 3 metrics computed on plain NumPy arrays.

A metric needs no gradient, so ``update_state`` takes the arrays behind its inputs and updates
its non-trainable ``Variable`` s in place with NumPy: no tape, no op objects, a few
microseconds per batch. Semantics (sample-weight broadcasting, thresholds, AUC's bucketed
confusion counts and Riemann sums) follow ``keras/src/metrics``. ``get_for_model`` is the
string resolution ``model.compile(metrics=[...])`` does ("accuracy" -> binary, categorical or
sparse categorical accuracy).
"""
import inspect
import re

import numpy as np

from . import backend, losses
from ._tensor import Tensor, Variable, floatx, value_of
from .losses import (binary_crossentropy, categorical_crossentropy, categorical_hinge,
                     cosine_similarity, hinge, huber, kl_divergence, log_cosh,
                     mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                     squared_hinge)

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "FalseNegatives",
    "FalsePositives", "Hinge", "KLDivergence", "LogCoshError", "Mean", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Metric", "Poisson", "Precision", "Recall",
    "RootMeanSquaredError", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives",
    "accuracy", "binary_accuracy", "binary_crossentropy", "categorical_accuracy",
    "categorical_crossentropy", "categorical_hinge", "cosine_similarity", "deserialize", "get",
    "get_for_model", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "serialize", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
]

NEG_INF = -1e10


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _np(x, dtype=None):
    """The NumPy array behind x (Tensor, Variable, CuPy array, list, number)."""
    v = value_of(x)
    if not isinstance(v, np.ndarray):
        v = v.get() if hasattr(v, "__cuda_array_interface__") else np.asarray(v)
    return v if dtype is None else v.astype(dtype, copy=False)


def _same_rank(x1, x2, expand_rank_1=True):
    return losses.squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=expand_rank_1)


def _divide_no_nan(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 0 and b.ndim == 0 and b != 0:  # a Mean's result, once per step: no masking
        return a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0, a / np.where(b == 0, 1, b))


# --- the Metric base class ----------------------------------------------------------------


def _initializer(initializer):
    if initializer is None or initializer in ("zeros", "Zeros"):
        return lambda shape, dtype=None: np.zeros(shape, dtype=dtype)
    if initializer in ("ones", "Ones"):
        return lambda shape, dtype=None: np.ones(shape, dtype=dtype)
    if isinstance(initializer, (int, float)):
        return lambda shape, dtype=None: np.full(shape, initializer, dtype=dtype)
    from . import initializers
    return initializers.get(initializer)


class Metric:
    """Base class of metrics (``keras.metrics.Metric``): state in non-trainable Variables made
    by ``add_variable``; subclasses implement ``update_state`` and ``result``."""

    def __init__(self, dtype=None, name=None):
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or backend.unique_name(_snake_case(type(self).__name__))
        self._dtype = str(np.dtype(getattr(dtype, "name", dtype) or floatx()))

    def __setattr__(self, name, value):
        tracked = self.__dict__.get("_variables")
        if tracked is not None and not name.startswith("_"):
            if isinstance(value, Variable) and not any(value is v for v in tracked):
                tracked.append(value)
            elif isinstance(value, Metric) and value is not self and \
                    not any(value is m for m in self._metrics):
                self._metrics.append(value)
        object.__setattr__(self, name, value)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` "
                               f"method of {type(self).__name__}. Go add it!")

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape=(), initializer=None, dtype=None, aggregation="sum",
                     name=None):
        """A non-trainable Variable of this metric (its state)."""
        self._check_super_called()
        shape = () if shape is None else tuple(shape)
        dtype = dtype or self._dtype
        variable = Variable(_initializer(initializer), shape=shape, dtype=dtype,
                            trainable=False, name=name or f"variable_{len(self._variables)}")
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None, **kwargs):
        """``add_variable``; tf.keras' ``add_weight("total", initializer="zeros")`` (the name
        first, as the book writes it) is accepted too."""
        if isinstance(shape, str):
            name, shape = shape, kwargs.pop("shape", ())
        for legacy in ("aggregation", "synchronization", "trainable"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"add_weight: unrecognized keyword arguments {sorted(kwargs)}")
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        out = list(self._variables)
        for metric in self._metrics:
            out.extend(metric.variables)
        return out

    def reset_state(self):
        for v in self.variables:
            v.value[...] = 0

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def __call__(self, *args, **kwargs):
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _tensor(self, value):
        return Tensor(np.asarray(value, dtype=self._dtype))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


# --- Sum, Mean, MeanMetricWrapper ---------------------------------------------------------


def _reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, mask=None):
    """``keras.src.metrics.reduction_metrics.reduce_to_samplewise_values`` on arrays."""
    values = _np(values, dtype)
    if sample_weight is not None:
        sample_weight = _np(sample_weight, dtype)
        if mask is None and values.ndim == 0 and sample_weight.ndim == 0:  # the loss tracker
            return values * sample_weight, sample_weight
        if mask is not None:
            sample_weight = losses.apply_mask(sample_weight, mask, dtype, "sum")
        values, sample_weight = _same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.ndim, values.ndim
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The weighted sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _reduce_to_samplewise_values(values, sample_weight, np.sum, self._dtype,
                                                 getattr(values, "_keras_mask", None))
        self.total.value += values.sum(dtype=self._dtype)

    def reset_state(self):
        self.total.value[...] = 0

    def result(self):
        return self._tensor(self.total.value)


class Mean(Metric):
    """The weighted mean of the values seen."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")
        self.count = self.add_variable(shape=(), name="count")

    def update_state(self, values, sample_weight=None):
        self._update(_np(values, self._dtype), sample_weight,
                     getattr(values, "_keras_mask", None))

    def _update(self, values, sample_weight, mask=None):
        values, sample_weight = _reduce_to_samplewise_values(values, sample_weight, np.mean,
                                                             self._dtype, mask)
        # the loss tracker's 0-d values skip a reduction each
        self.total.value += values if values.ndim == 0 else values.sum(dtype=self._dtype)
        if sample_weight is not None:
            self.count.value += (sample_weight if sample_weight.ndim == 0
                                 else sample_weight.sum(dtype=self._dtype))
        else:
            self.count.value += values.shape[0] if values.ndim >= 1 else 1

    def reset_state(self):
        self.total.value[...] = 0
        self.count.value[...] = 0

    def result(self):
        return self._tensor(_divide_no_nan(self.total.value, self.count.value))


# NumPy versions of the metric functions, used by MeanMetricWrapper (no Tensor per batch).
_NUMPY_FNS = {}


def _numpy_fn(public):
    def register(fn):
        _NUMPY_FNS[public] = fn
        return fn
    return register


def _plain_inputs(y_true, y_pred):
    """Tensors cut from the tape for a metric that calls a loss function (the softmax/sigmoid
    logits a prediction carries are kept, so cross-entropy metrics stay stable)."""
    yp = Tensor(value_of(y_pred))
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is not None:
        yp._keras_logits = Tensor(value_of(logits))
    return Tensor(value_of(y_true)), yp


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over the samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or backend.unique_name("mean_metric_wrapper"), dtype=dtype)
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: fn must be callable, got {fn!r}")
        self._fn = fn
        self._fn_kwargs = kwargs
        self._np_fn = _NUMPY_FNS.get(fn)

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        if self._np_fn is not None:
            values = self._np_fn(_np(y_true), _np(y_pred), **self._fn_kwargs)
        else:
            values = self._fn(*_plain_inputs(y_true, y_pred), **self._fn_kwargs)
        if mask is not None:
            sample_weight = losses.apply_mask(
                None if sample_weight is None else _np(sample_weight, self._dtype),
                mask, self._dtype, "sum")
        # as Keras: a mask on the values (ignore_class) counts only with sample weights
        self._update(_np(values, self._dtype), sample_weight,
                     getattr(values, "_keras_mask", None))

    def get_config(self):
        from .saving import serialize_keras_object
        config = {"name": self.name, "dtype": self.dtype,
                  "fn": serialize_keras_object(self._fn)}
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = losses._deserialize_with(_FUNCTIONS, config["fn"], None, "metric")
        return cls(**config)


# --- accuracy functions -------------------------------------------------------------------


def _as_float(matches):
    return matches.astype(floatx())


@_numpy_fn("accuracy")
def _accuracy(y_true, y_pred):
    y_true = y_true.astype(y_pred.dtype, copy=False)
    y_true, y_pred = _same_rank(y_true, y_pred)
    return _as_float(y_true == y_pred)


@_numpy_fn("binary_accuracy")
def _binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _same_rank(y_true, y_pred)
    return _as_float(y_true == (y_pred > threshold))


@_numpy_fn("categorical_accuracy")
def _categorical_accuracy(y_true, y_pred):
    y_true = np.argmax(y_true, axis=-1)
    shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = np.squeeze(y_true, -1)
    matches = _as_float(y_true == np.argmax(y_pred, axis=-1))
    return matches.reshape(shape) if reshape else matches


@_numpy_fn("sparse_categorical_accuracy")
def _sparse_categorical_accuracy(y_true, y_pred):
    y_true = y_true.astype(y_pred.dtype, copy=False)
    shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = np.squeeze(y_true, -1)
    matches = _as_float(y_true == np.argmax(y_pred, axis=-1))
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    """Whether each target's score is >= the k-th largest score of its row (ties count)."""
    n_classes = predictions.shape[-1]
    if k >= n_classes:
        kth = predictions.min(axis=-1)
    else:
        kth = -np.partition(-predictions, k - 1, axis=-1)[:, k - 1]
    rows = np.arange(len(targets))
    return predictions[rows, targets] >= kth


@_numpy_fn("top_k_categorical_accuracy")
def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true = np.argmax(y_true, axis=-1)
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _as_float(_in_top_k(y_true.reshape(-1), y_pred, k))
    return matches.reshape(shape) if len(shape) > 1 else matches


@_numpy_fn("sparse_top_k_categorical_accuracy")
def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if from_sorted_ids:
        flat = y_true.astype(y_pred.dtype).reshape(-1)
        matches = np.any(flat[:, None] == y_pred[:, :k], axis=1)
    else:
        matches = _in_top_k(y_true.astype(np.int64).reshape(-1), y_pred, k)
    matches = _as_float(matches)
    return matches.reshape(shape) if len(shape) > 1 else matches


@_numpy_fn("mean_squared_error")
def _mean_squared_error(y_true, y_pred):
    y_pred = y_pred if np.issubdtype(y_pred.dtype, np.floating) else y_pred.astype(floatx())
    y_true, y_pred = _same_rank(y_true.astype(y_pred.dtype, copy=False), y_pred)
    d = y_true - y_pred
    return np.mean(d * d, axis=-1)


@_numpy_fn("mean_absolute_error")
def _mean_absolute_error(y_true, y_pred):
    y_pred = y_pred if np.issubdtype(y_pred.dtype, np.floating) else y_pred.astype(floatx())
    y_true, y_pred = _same_rank(y_true.astype(y_pred.dtype, copy=False), y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def _public(np_fn, name):
    def fn(y_true, y_pred, **kwargs):
        return Tensor(np_fn(_np(y_true), _np(y_pred), **kwargs))
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = f"``keras.metrics.{name}``: one value per sample."
    return fn


accuracy = _public(_accuracy, "accuracy")
binary_accuracy = _public(_binary_accuracy, "binary_accuracy")
categorical_accuracy = _public(_categorical_accuracy, "categorical_accuracy")
sparse_categorical_accuracy = _public(_sparse_categorical_accuracy,
                                      "sparse_categorical_accuracy")
top_k_categorical_accuracy = _public(_top_k_categorical_accuracy, "top_k_categorical_accuracy")
sparse_top_k_categorical_accuracy = _public(_sparse_top_k_categorical_accuracy,
                                            "sparse_top_k_categorical_accuracy")
for _name in list(_NUMPY_FNS):
    if _name in globals() and callable(globals()[_name]):
        _NUMPY_FNS[globals()[_name]] = _NUMPY_FNS.pop(_name)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# --- MeanMetricWrapper subclasses ---------------------------------------------------------


def _wrapper_class(class_name, fn, default_name, config_keys=(), defaults=None, doc=""):
    """A MeanMetricWrapper subclass ``Class(name=default_name, dtype=None, **config_keys)``
    whose config is name, dtype and those keys (as Keras' classes)."""
    defaults = dict(defaults or {})

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected arguments {sorted(unknown)}")
        values = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
        for k in config_keys:
            object.__setattr__(self, k, values[k])

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update({k: getattr(self, k) for k in config_keys})
        return config

    return type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "get_config": get_config, "__module__": __name__,
        "__doc__": doc, "from_config": classmethod(lambda cls, config: cls(**config))})


Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy",
                          doc="How often predictions equal labels.")
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                                ("threshold",), {"threshold": 0.5},
                                "How often predictions above threshold match binary labels.")
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy,
                                     "categorical_accuracy",
                                     doc="How often argmax(y_pred) matches one-hot labels.")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy",
    doc="How often argmax(y_pred) matches integer labels.")
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy",
    ("k",), {"k": 5}, "How often the one-hot target is in the top k predictions.")


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is in the top k predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# TopKCategoricalAccuracy takes k first positionally in Keras
_TopK = TopKCategoricalAccuracy


class TopKCategoricalAccuracy(_TopK):  # noqa: F811
    __doc__ = _TopK.__doc__

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype, k=k)


MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error,
                                  "mean_squared_error", doc="Mean of squared errors.")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error,
                                   "mean_absolute_error", doc="Mean of absolute errors.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", doc="Mean absolute percentage error.")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", doc="Mean squared logarithmic error.")
LogCoshError = _wrapper_class("LogCoshError", log_cosh, "logcosh",
                              doc="Mean logarithm of the hyperbolic cosine of the error.")
Hinge = _wrapper_class("Hinge", hinge, "hinge", doc="Mean hinge loss.")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              doc="Mean squared hinge loss.")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                  doc="Mean categorical hinge loss.")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              doc="Mean Kullback-Leibler divergence.")
Poisson = _wrapper_class("Poisson", poisson, "poisson", doc="Mean Poisson loss.")
CosineSimilarity = _wrapper_class("CosineSimilarity", lambda t, p, axis=-1: -value_of(
    cosine_similarity(t, p, axis=axis)), "cosine_similarity", ("axis",), {"axis": -1},
    "Mean cosine similarity between labels and predictions.")
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    ("from_logits", "label_smoothing"), {"from_logits": False, "label_smoothing": 0},
    "Mean binary cross-entropy.")
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    ("from_logits", "label_smoothing", "axis"),
    {"from_logits": False, "label_smoothing": 0, "axis": -1},
    "Mean categorical cross-entropy.")
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy", ("from_logits", "ignore_class", "axis"),
    {"from_logits": False, "ignore_class": None, "axis": -1},
    "Mean sparse categorical cross-entropy.")


class RootMeanSquaredError(Mean):
    """sqrt of the weighted mean of squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _same_rank(_np(y_true, self._dtype), _np(y_pred, self._dtype))
        d = y_pred - y_true
        self._update(d * d, sample_weight)

    def result(self):
        return self._tensor(np.sqrt(_divide_no_nan(self.total.value, self.count.value)))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


# --- confusion-matrix metrics -------------------------------------------------------------


def _to_list(x):
    return list(x) if isinstance(x, (list, tuple, np.ndarray)) else [x]


def _parse_thresholds(thresholds, default):
    if thresholds is not None:
        bad = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return _to_list(default if thresholds is None else thresholds)


def _evenly_distributed(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=backend.epsilon()))


def _filter_top_k(x, k):
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1, axis=-1)
    return x * mask + x.dtype.type(NEG_INF) * (1 - mask)


def _update_confusion_matrix(variables, y_true, y_pred, thresholds, top_k=None,
                             class_id=None, sample_weight=None, multi_label=False,
                             label_weights=None, evenly=False):
    """Adds this batch's weighted tp/fp/tn/fn per threshold to ``variables`` (a dict of
    "tp"/"fp"/"tn"/"fn" -> Variable): ``metrics_utils.update_confusion_matrix_variables``."""
    dt = next(iter(variables.values())).value.dtype
    y_true = _np(y_true, dt)
    y_pred = _np(y_pred, dt)
    thresholds = np.asarray(thresholds)
    with_epsilon = bool(thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thr = thresholds.astype(dt)
    n_thr = len(thr)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        try:
            y_true = np.broadcast_to(y_true, y_pred.shape)
        except ValueError:
            raise ValueError(f"y_true of shape {y_true.shape} does not match y_pred of shape "
                             f"{y_pred.shape}") from None
    if sample_weight is not None:
        sample_weight = _np(sample_weight, dt)[..., None]
        _, sample_weight = _same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    weights = None
    if sample_weight is not None:
        weights = np.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        lw = np.broadcast_to(np.asarray(label_weights, dt)[None], y_pred.shape)
        weights = lw if weights is None else weights * lw
    label_pos = y_true != 0
    if multi_label:
        n_labels = y_pred.shape[-1] if y_pred.ndim > 1 else 1
        preds = y_pred.reshape(-1, n_labels)
        labels = label_pos.reshape(-1, n_labels)
        w = None if weights is None else weights.reshape(-1, n_labels)
    else:
        preds = y_pred.reshape(-1)
        labels = label_pos.reshape(-1)
        w = None if weights is None else weights.reshape(-1)

    if evenly:
        # bucket b = ceil(p (T - 1)) - 1 holds the predictions above thresholds 0..b
        pc = np.clip(preds, 0, 1)
        buckets = np.ceil(pc * dt.type(n_thr - 1)) - 1
        if with_epsilon:
            buckets = np.maximum(buckets, 0)
        buckets = buckets.astype(np.int64)
        true_w = labels.astype(np.float64) if w is None else np.where(labels, w, 0)
        false_w = (~labels).astype(np.float64) if w is None else np.where(labels, 0, w)
        if multi_label:
            offsets = np.arange(preds.shape[1]) * n_thr
            keep = buckets >= 0
            ids = (buckets + offsets)[keep]
            size = n_thr * preds.shape[1]
            tp_b = np.bincount(ids, true_w[keep], size).reshape(-1, n_thr).T
            fp_b = np.bincount(ids, false_w[keep], size).reshape(-1, n_thr).T
            total_true, total_false = true_w.sum(axis=0), false_w.sum(axis=0)
        else:
            keep = buckets >= 0
            tp_b = np.bincount(buckets[keep], true_w[keep], n_thr)
            fp_b = np.bincount(buckets[keep], false_w[keep], n_thr)
            total_true, total_false = true_w.sum(), false_w.sum()
        tp = np.cumsum(tp_b[::-1], axis=0)[::-1]
        fp = np.cumsum(fp_b[::-1], axis=0)[::-1]
        fn = total_true - tp
        tn = total_false - fp
    else:
        shape = (n_thr,) + (1,) * preds.ndim
        pred_pos = preds[None] > thr.reshape(shape)          # (T, N) or (T, N, L)
        lab = labels[None]
        ww = 1.0 if w is None else w[None]

        def count(mask):
            return (mask * ww).sum(axis=1, dtype=np.float64)
        tp = count(lab & pred_pos)
        fp = count(~lab & pred_pos) if ("fp" in variables or "tn" in variables) else None
        fn = count(lab & ~pred_pos) if ("fn" in variables or "tn" in variables) else None
        tn = count(~lab & ~pred_pos) if "tn" in variables else None
    found = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for key, var in variables.items():
        var.value += np.asarray(found[key]).reshape(var.value.shape).astype(dt)


class _ConfusionMatrixConditionCount(Metric):
    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._evenly = _evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _update_confusion_matrix({self._condition: self.accumulator}, y_true, y_pred,
                                 self.thresholds, sample_weight=sample_weight,
                                 evenly=self._evenly)

    def result(self):
        v = self.accumulator.value
        return self._tensor(v[0] if len(self.thresholds) == 1 else v)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The weighted number of true positives (per threshold)."""
    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The weighted number of false positives (per threshold)."""
    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The weighted number of true negatives (per threshold)."""
    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The weighted number of false negatives (per threshold)."""
    _condition = "fn"


class _PrecisionRecall(Metric):
    _other = None  # "fp" for precision, "fn" for recall

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = _evenly_distributed(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), name="true_positives")
        other = self.add_variable(shape=(n,), name="false_positives" if self._other == "fp"
                                  else "false_negatives")
        object.__setattr__(self, "false_positives" if self._other == "fp"
                           else "false_negatives", other)
        self._other_var = other

    def update_state(self, y_true, y_pred, sample_weight=None):
        _update_confusion_matrix({"tp": self.true_positives, self._other: self._other_var},
                                 y_true, y_pred, self.thresholds, top_k=self.top_k,
                                 class_id=self.class_id, sample_weight=sample_weight,
                                 evenly=self._evenly)

    def result(self):
        tp = self.true_positives.value
        r = _divide_no_nan(tp, tp + self._other_var.value)
        return self._tensor(r[0] if len(self.thresholds) == 1 else r)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold (default 0.5), or among the top_k predictions."""
    _other = "fp"


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold (default 0.5), or among the top_k predictions."""
    _other = "fn"


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC or PR curve, as Keras approximates it: confusion counts at
    ``num_thresholds`` thresholds and a Riemann sum (``summation_method``)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curve_key = str(getattr(curve, "value", curve)).lower()
        if curve_key not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["PR", "ROC", "PRGAIN"]')
        method = str(getattr(summation_method, "value", summation_method)).lower()
        if method not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            _parse_thresholds(thresholds, None)
            self._evenly = _evenly_distributed(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1)
                          for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = backend.epsilon()
        self._thresholds = np.array([0.0 - eps] + list(thresholds) + [1.0 + eps])
        self.curve = _CURVES[curve_key]
        self.summation_method = method
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else np.asarray(value_of(label_weights), dtype=self._dtype))
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {len(shape)}. Full shape received for `y_pred`: "
                                 f"{shape}")
            self._num_labels = shape[1]
            vshape = (self.num_thresholds, self._num_labels)
        else:
            vshape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape=vshape, name="true_positives")
        self.false_positives = self.add_variable(shape=vshape, name="false_positives")
        self.true_negatives = self.add_variable(shape=vshape, name="true_negatives")
        self.false_negatives = self.add_variable(shape=vshape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _np(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred.astype(self._dtype)))
        _update_confusion_matrix(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives}, y_true, y_pred, self._thresholds,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            evenly=self._evenly)

    def _by_label(self, terms):
        if not self.multi_label:
            return terms.sum()
        by_label = terms.sum(axis=0)
        if self.label_weights is None:
            return by_label.mean()
        return _divide_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum())

    def interpolate_pr_auc(self):
        n = self.num_thresholds
        tp = self.true_positives.value.astype(np.float64)
        fp = self.false_positives.value.astype(np.float64)
        fn = self.false_negatives.value.astype(np.float64)
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        prec_slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0),
                                _divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(prec_slope * (dtp + intercept * np.log(safe_p_ratio)),
                                   np.maximum(tp[1:] + fn[1:], 0))
        return self._tensor(self._by_label(increment))

    def result(self):
        if not self._built:
            return self._tensor(0.0)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        n = self.num_thresholds
        tp = self.true_positives.value.astype(np.float64)
        fp = self.false_positives.value.astype(np.float64)
        tn = self.true_negatives.value.astype(np.float64)
        fn = self.false_negatives.value.astype(np.float64)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = np.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return self._tensor(self._by_label((x[:n - 1] - x[1:]) * heights))

    def reset_state(self):
        if self._built:
            for v in (self.true_positives, self.false_positives, self.true_negatives,
                      self.false_negatives):
                v.value[...] = 0

    def get_config(self):
        config = {"num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": (None if self.label_weights is None
                                    else self.label_weights.tolist()),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return {**super().get_config(), **config}


# --- lookup, serialization, compile-time resolution ---------------------------------------

ALL_OBJECTS = (
    Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, RootMeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCoshError, AUC, FalseNegatives, FalsePositives, Precision, Recall,
    TrueNegatives, TruePositives, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Accuracy,
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
    "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})

# functions by name, for deserializing a MeanMetricWrapper's fn
_FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}
_FUNCTIONS.update({k: v for k, v in losses.ALL_OBJECTS_DICT.items()
                   if not inspect.isclass(v)})
_FUNCTIONS.update({k: v for k, v in ALL_OBJECTS_DICT.items() if inspect.isclass(v)})


def serialize(metric):
    from .saving import serialize_keras_object
    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """A Metric instance or metric function from ``serialize``'s output or a name."""
    return losses._deserialize_with(_FUNCTIONS, config, custom_objects, "metric")


def get(identifier):
    """A Metric instance or metric function from a name, a config dict, a callable or None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Known "
                             f"names: {sorted(ALL_OBJECTS_DICT)}")
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def _shape_of(x):
    if x is None:
        return None
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(shape)


def _loss_kind(loss):
    """'binary', 'sparse' or 'categorical' from a compiled loss, or None."""
    if isinstance(loss, str):
        if loss.lower() in ("binary_crossentropy", "bce"):
            return "binary"
        try:
            loss = losses.get(loss)
        except ValueError:
            return None
    fn = getattr(loss, "fn", loss)
    if fn is losses.binary_crossentropy:
        return "binary"
    if fn is losses.sparse_categorical_crossentropy:
        return "sparse"
    if fn is losses.categorical_crossentropy:
        return "categorical"
    return None


def _classification_kind(loss, y_true, y_pred):
    """Keras 3's ``compile_utils.is_binary_or_sparse_categorical`` on the shapes of y_true
    and y_pred; the loss decides when the shapes are not known."""
    st, sp = _shape_of(y_true), _shape_of(y_pred)
    if st is not None and sp is not None and len(sp) >= 1 and sp[-1] is not None and \
            (len(st) == 0 or st[-1] is not None or len(st) < len(sp)):
        y_p_last = sp[-1]
        y_t_last = st[-1] if st else None
        if y_p_last == 1:
            return "binary"
        if len(st) < len(sp) or (y_t_last == 1 and y_p_last > 1):
            return "sparse"
        return "categorical"
    kind = _loss_kind(loss)
    if kind is None:
        raise ValueError("Cannot decide which accuracy/crossentropy metric to use: pass "
                         "y_true and y_pred (or their shapes), or compile with a "
                         "cross-entropy loss")
    return kind


def get_object_name(obj):
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return _snake_case(obj.__name__)
    return _snake_case(type(obj).__name__)


def get_for_model(identifier, loss=None, y_true=None, y_pred=None):
    """The Metric ``model.compile(metrics=[identifier])`` makes for an output.

    "accuracy"/"acc" become BinaryAccuracy, SparseCategoricalAccuracy or CategoricalAccuracy
    as Keras 3 picks them from the shapes of y_true and y_pred (the loss decides when those
    are not known), named as given; "crossentropy"/"ce" likewise pick the binary, sparse or
    categorical cross-entropy metric. Other names go through ``get``; Metric instances pass
    through; plain functions are wrapped in a MeanMetricWrapper named after them.
    """
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    key = identifier.lower() if isinstance(identifier, str) else None
    if key in ("accuracy", "acc"):
        kind = _classification_kind(loss, y_true, y_pred)
        cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
               "categorical": CategoricalAccuracy}[kind]
        metric = cls(name=identifier)
    elif key in ("crossentropy", "ce"):
        kind = _classification_kind(loss, y_true, y_pred)
        cls = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
               "categorical": CategoricalCrossentropy}[kind]
        metric = cls(name=identifier)
    else:
        metric = get(identifier)
    name = identifier if isinstance(identifier, str) else get_object_name(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=name)
    metric.name = name
    return metric
