"""keras.losses against Keras 3 (torch backend): values, gradients, reductions, weights."""
import os
import warnings
import zlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from turbolearn.keras import GradientTape, Variable, losses, ops  # noqa: E402

RTOL = ATOL = 1e-5
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "none", None, "mean_with_sample_weight"]


def _data(name, shape, rng):
    """(y_true, y_pred) valid for the loss ``name``."""
    if name in ("binary_crossentropy",):
        return rng.integers(0, 2, shape).astype("float32"), \
            rng.uniform(0.02, 0.98, shape).astype("float32")
    if name in ("categorical_crossentropy", "kl_divergence"):
        t = rng.random(shape).astype("float32")
        t = t / t.sum(-1, keepdims=True)
        p = rng.uniform(0.05, 1, shape).astype("float32")
        return t, p / p.sum(-1, keepdims=True)
    if name in ("hinge", "squared_hinge"):
        return rng.integers(0, 2, shape).astype("float32"), rng.normal(size=shape).astype("float32")
    if name == "categorical_hinge":
        return np.eye(shape[-1], dtype="float32")[rng.integers(0, shape[-1], shape[:-1])], \
            rng.normal(size=shape).astype("float32")
    if name in ("poisson", "mean_squared_logarithmic_error"):
        return rng.uniform(0, 3, shape).astype("float32"), rng.uniform(0.1, 3, shape).astype("float32")
    if name == "mean_absolute_percentage_error":
        return rng.uniform(0.5, 2, shape).astype("float32") * rng.choice([-1, 1], shape), \
            rng.normal(size=shape).astype("float32")
    if name == "cosine_similarity":
        # |y_pred| away from 0: with one feature the gradient is 0 in exact arithmetic and
        # round-off of order eps / |y_pred|, unbounded as y_pred nears 0.
        return rng.normal(size=shape).astype("float32"), \
            (rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)).astype("float32")
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")


CLASSES = [
    ("MeanSquaredError", "mean_squared_error", {}),
    ("MeanAbsoluteError", "mean_absolute_error", {}),
    ("MeanAbsolutePercentageError", "mean_absolute_percentage_error", {}),
    ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", {}),
    ("Huber", "huber", {"delta": 0.7}),
    ("LogCosh", "log_cosh", {}),
    ("BinaryCrossentropy", "binary_crossentropy", {}),
    ("BinaryCrossentropy", "binary_crossentropy", {"label_smoothing": 0.1}),
    ("CategoricalCrossentropy", "categorical_crossentropy", {}),
    ("CategoricalCrossentropy", "categorical_crossentropy", {"label_smoothing": 0.2}),
    ("KLDivergence", "kl_divergence", {}),
    ("Poisson", "poisson", {}),
    ("Hinge", "hinge", {}),
    ("SquaredHinge", "squared_hinge", {}),
    ("CategoricalHinge", "categorical_hinge", {}),
    ("CosineSimilarity", "cosine_similarity", {}),
]
SHAPES = [(1, 3), (7, 4), (5, 1), (4, 3, 5)]


def _ours(cls_name, kwargs, reduction, y_true, y_pred, sw):
    """(loss value, d loss / d y_pred) from turbolearn."""
    loss = getattr(losses, cls_name)(reduction=reduction, **kwargs)
    p = Variable(y_pred)
    with GradientTape() as tape:
        value = loss(y_true, p, sample_weight=sw)
    grad = tape.gradient(value, p)
    return np.asarray(value), np.asarray(grad)


def _keras(cls_name, kwargs, reduction, y_true, y_pred, sw):
    loss = getattr(keras.losses, cls_name)(reduction=reduction, **kwargs)
    p = torch.tensor(y_pred, requires_grad=True)
    value = loss(torch.tensor(y_true), p,
                 sample_weight=None if sw is None else torch.tensor(sw))
    value.sum().backward()
    return value.detach().numpy(), p.grad.numpy()


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CLASSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_classes_match_keras(cls_name, fn_name, kwargs, shape, reduction, weighted):
    # crc32, not hash(): str hashes change with each process (PYTHONHASHSEED).
    rng = np.random.default_rng(zlib.crc32(repr((cls_name, shape, reduction, weighted)).encode()))
    y_true, y_pred = _data(fn_name, shape, rng)
    sw = rng.uniform(0.1, 2, shape[:-1]).astype("float32") if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        v, g = _ours(cls_name, kwargs, reduction, y_true, y_pred, sw)
        kv, kg = _keras(cls_name, kwargs, reduction, y_true, y_pred, sw)
    assert v.shape == kv.shape
    np.testing.assert_allclose(v, kv, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g, kg, rtol=1e-4, atol=ATOL)


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CLASSES)
def test_loss_functions_and_names_match_keras(cls_name, fn_name, kwargs):
    rng = np.random.default_rng(1)
    y_true, y_pred = _data(fn_name, (6, 4), rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        ours = np.asarray(getattr(losses, fn_name)(y_true, y_pred, **kwargs))
        ref = getattr(keras.losses, fn_name)(torch.tensor(y_true), torch.tensor(y_pred),
                                             **kwargs).numpy()
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)
    assert getattr(losses, cls_name)().name == getattr(keras.losses, cls_name)().name


@pytest.mark.parametrize("shape", [(1, 5), (9, 3), (2, 4, 3)])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("ignore_class", [None, 1])
def test_sparse_categorical_crossentropy_matches_keras(shape, from_logits, ignore_class):
    rng = np.random.default_rng(sum(shape))
    labels = rng.integers(0, shape[-1], shape[:-1])
    logits = rng.normal(size=shape).astype("float32")
    y_pred = logits if from_logits else (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
                                         ).astype("float32")
    sw = rng.uniform(0.5, 2, shape[:-1]).astype("float32")
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                ignore_class=ignore_class)
    p = Variable(y_pred)
    with GradientTape() as tape:
        value = loss(labels, p, sample_weight=sw)
    grad = np.asarray(tape.gradient(value, p))
    ref_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                          ignore_class=ignore_class)
    tp = torch.tensor(y_pred, requires_grad=True)
    ref = ref_loss(torch.tensor(labels), tp, sample_weight=torch.tensor(sw))
    ref.backward()
    np.testing.assert_allclose(np.asarray(value), ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-4, atol=ATOL)


def test_sparse_labels_as_column_and_integer_dtypes():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 4)).astype("float32")
    labels = rng.integers(0, 4, 6)
    ref = keras.losses.sparse_categorical_crossentropy(torch.tensor(labels),
                                                       torch.tensor(logits),
                                                       from_logits=True).numpy()
    for lab in (labels, labels[:, None], labels.astype("int32"), labels.astype("float32")):
        out = losses.sparse_categorical_crossentropy(lab, logits, from_logits=True)
        np.testing.assert_allclose(np.asarray(out), ref, rtol=RTOL, atol=ATOL)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(np.asarray(loss(labels[:, None].astype("uint8"), logits)),
                               ref.mean(), rtol=RTOL)


def test_integer_y_true_is_cast():
    y_true = np.array([[0, 1], [2, 3]])
    y_pred = np.array([[0.5, 1.5], [1.0, 4.0]], dtype="float32")
    np.testing.assert_allclose(np.asarray(losses.MeanSquaredError()(y_true, y_pred)),
                               np.mean((y_true - y_pred) ** 2), rtol=1e-6)
    out = losses.BinaryCrossentropy()(np.array([[1], [0]]), np.array([[0.8], [0.3]], "float32"))
    ref = keras.losses.BinaryCrossentropy()(np.array([[1], [0]]),
                                            np.array([[0.8], [0.3]], "float32"))
    np.testing.assert_allclose(np.asarray(out), ref.numpy(), rtol=RTOL)


@pytest.mark.parametrize("shape,sw_shape", [((6,), (6, 1)), ((6, 1), (6,)), ((6, 3), (6, 3)),
                                            ((6, 3), ()), ((1,), (1,))])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_custom_loss_weight_broadcasting_matches_keras(shape, sw_shape, reduction):
    """A Loss returning element-wise values (the book's HuberLoss) with every weight shape."""
    rng = np.random.default_rng(7)
    y_true = rng.normal(size=shape).astype("float32")
    y_pred = rng.normal(size=shape).astype("float32")
    sw = rng.uniform(0.2, 2, sw_shape).astype("float32")

    def make(base, o):
        class HuberLoss(base):
            def __init__(self, threshold=1.0, **kwargs):
                self.threshold = threshold
                super().__init__(**kwargs)

            def call(self, y_true, y_pred):
                error = y_true - y_pred
                small = o.abs(error) < self.threshold
                return o.where(small, o.square(error) / 2,
                               self.threshold * o.abs(error) - self.threshold ** 2 / 2)

            def get_config(self):
                return {**super().get_config(), "threshold": self.threshold}
        return HuberLoss

    ours = make(losses.Loss, ops)(threshold=0.8, reduction=reduction)
    ref = make(keras.losses.Loss, keras.ops)(threshold=0.8, reduction=reduction)
    p = Variable(y_pred)
    with GradientTape() as tape:
        v = ours(y_true, p, sample_weight=sw)
    g = tape.gradient(v, p)
    tp = torch.tensor(y_pred, requires_grad=True)
    kv = ref(torch.tensor(y_true), tp, sample_weight=torch.tensor(sw))
    kv.sum().backward()
    np.testing.assert_allclose(np.asarray(v), kv.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(g), tp.grad.numpy(), rtol=1e-4, atol=ATOL)
    clone = type(ours).from_config(ours.get_config())
    assert clone.threshold == 0.8 and clone.reduction == reduction


# --- the fused logits path --------------------------------------------------------------


def _softmax_case(rng, n=8, k=5, scale=1.0):
    logits = (rng.normal(size=(n, k)) * scale).astype("float32")
    return logits, rng.integers(0, k, n)


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_output_uses_fused_logits_and_matches_unfused(sparse):
    rng = np.random.default_rng(11)
    logits, labels = _softmax_case(rng)
    y_true = labels if sparse else np.eye(5, dtype="float32")[labels]
    loss = (losses.SparseCategoricalCrossentropy() if sparse
            else losses.CategoricalCrossentropy())
    lv = Variable(logits)
    with GradientTape() as tape:
        probs = ops.softmax(lv)
        fused = loss(y_true, probs)
    g_fused = np.asarray(tape.gradient(fused, lv))
    # unfused: the same probabilities without their logits
    lv2 = Variable(logits)
    with GradientTape() as tape:
        probs2 = ops.softmax(lv2)
        plain = ops.multiply(probs2, 1.0)  # a Tensor that carries no logits
        assert getattr(plain, "_keras_logits", None) is None
        unfused = loss(y_true, plain)
    g_unfused = np.asarray(tape.gradient(unfused, lv2))
    np.testing.assert_allclose(np.asarray(fused), np.asarray(unfused), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_fused, g_unfused, rtol=1e-4, atol=1e-6)
    # and the same as Keras on the probabilities
    ref_cls = (keras.losses.SparseCategoricalCrossentropy if sparse
               else keras.losses.CategoricalCrossentropy)
    tl = torch.tensor(logits, requires_grad=True)
    ref = ref_cls()(torch.tensor(y_true), torch.softmax(tl, -1))
    ref.backward()
    np.testing.assert_allclose(np.asarray(fused), ref.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(g_fused, tl.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_fused_path_calls_softmax_xent(monkeypatch):
    from turbolearn.keras import _nn
    calls = []
    real = _nn.softmax_xent
    monkeypatch.setattr(_nn, "softmax_xent", lambda *a: calls.append(1) or real(*a))
    logits, labels = _softmax_case(np.random.default_rng(0))
    losses.SparseCategoricalCrossentropy()(labels, ops.softmax(logits))
    losses.CategoricalCrossentropy()(np.eye(5)[labels], ops.softmax(logits))
    assert len(calls) == 2


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_output_stays_finite_on_extreme_logits(sparse):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0]], "float32")
    labels = np.array([1, 0])
    y_true = labels if sparse else np.eye(3, dtype="float32")[labels]
    loss = (losses.SparseCategoricalCrossentropy() if sparse
            else losses.CategoricalCrossentropy())
    lv = Variable(logits)
    with GradientTape() as tape:
        value = loss(y_true, ops.softmax(lv))
    g = np.asarray(tape.gradient(value, lv))
    exact = np.mean([2000.0, 2000.0])  # logsumexp - logit of the true class
    np.testing.assert_allclose(float(value), exact, rtol=1e-6)
    assert np.all(np.isfinite(g))
    # the probability form clips at epsilon: finite but wrong (-log(1e-7) = 16.1)
    clipped = loss(y_true, ops.multiply(ops.softmax(logits), 1.0))
    assert float(clipped) < 20


def test_sigmoid_output_uses_stable_logits_form():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 1)).astype("float32") * 3
    y_true = rng.integers(0, 2, (6, 1)).astype("float32")
    lv = Variable(logits)
    with GradientTape() as tape:
        fused = losses.BinaryCrossentropy()(y_true, ops.sigmoid(lv))
    g = np.asarray(tape.gradient(fused, lv))
    tl = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(tl, torch.tensor(y_true))
    ref.backward()
    np.testing.assert_allclose(float(fused), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(g, tl.grad.numpy(), rtol=1e-4, atol=1e-7)
    unfused = losses.BinaryCrossentropy()(y_true, ops.multiply(ops.sigmoid(logits), 1.0))
    np.testing.assert_allclose(float(fused), float(unfused), rtol=1e-5)
    # extreme logits: exact, finite value and gradient
    big = Variable(np.array([[1000.0], [-1000.0]], "float32"))
    with GradientTape() as tape:
        v = losses.BinaryCrossentropy()(np.array([[0.0], [1.0]]), ops.sigmoid(big))
    np.testing.assert_allclose(float(v), 1000.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(tape.gradient(v, big)), [[0.5], [-0.5]])


def test_from_logits_binary_matches_keras():
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(5, 3)).astype("float32") * 4
    y_true = rng.integers(0, 2, (5, 3)).astype("float32")
    for ls in (0.0, 0.2):
        ours = losses.BinaryCrossentropy(from_logits=True, label_smoothing=ls)(y_true, logits)
        ref = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=ls)(
            y_true, logits)
        np.testing.assert_allclose(float(ours), float(ref), rtol=1e-5)


def test_categorical_from_logits_matches_keras_including_other_axis():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(3, 4, 5)).astype("float32")
    t = rng.random((3, 4, 5)).astype("float32")
    for axis in (-1, 1):
        ours = losses.categorical_crossentropy(t, logits, from_logits=True, axis=axis)
        ref = keras.losses.categorical_crossentropy(t, logits, from_logits=True, axis=axis)
        np.testing.assert_allclose(np.asarray(ours), ref.numpy(), rtol=1e-5, atol=1e-6)


# --- config, lookup, bad input ------------------------------------------------------------


@pytest.mark.parametrize("cls_name,fn_name,kwargs", CLASSES + [
    ("SparseCategoricalCrossentropy", None, {"from_logits": True, "ignore_class": 3})])
def test_get_config_round_trip_matches_keras(cls_name, fn_name, kwargs):
    ours = getattr(losses, cls_name)(**kwargs, reduction="sum")
    ref = getattr(keras.losses, cls_name)(**kwargs, reduction="sum")
    config = ours.get_config()
    ref_config = ref.get_config()
    ref_config.pop("dtype", None)
    if cls_name == "Huber":  # Keras 3.15 drops delta (a reloaded Huber(2.0) is Huber(1.0))
        assert config.pop("delta") == kwargs.get("delta", 1.0) and "delta" not in ref_config
        config = dict(config, delta=kwargs.get("delta", 1.0))
        ref_config["delta"] = config["delta"]
    assert config == {k: v for k, v in ref_config.items()}
    clone = getattr(losses, cls_name).from_config(config)
    assert clone.get_config() == config
    again = losses.deserialize(losses.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == config


def test_wrapper_and_function_serialization():
    w = losses.LossFunctionWrapper(losses.huber, name="h", delta=2.0)
    clone = losses.LossFunctionWrapper.from_config(w.get_config())
    assert clone.fn is losses.huber and clone._fn_kwargs == {"delta": 2.0}
    assert losses.deserialize(losses.serialize(losses.mean_squared_error)) is \
        losses.mean_squared_error


def test_get():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MAE") is losses.mean_absolute_error
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    got = losses.get({"class_name": "CategoricalCrossentropy",
                      "config": {"from_logits": True}})
    assert got.from_logits is True
    assert losses.get(None) is None
    inst = losses.Huber()
    assert losses.get(inst) is inst
    with pytest.raises(ValueError, match="nonsense_loss"):
        losses.get("nonsense_loss")


def test_bad_inputs():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    logits = np.zeros((3, 4), "float32")
    with pytest.raises(ValueError, match="out of range"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([0, 4, 1]), logits)
    with pytest.raises(ValueError, match="out of range"):
        losses.SparseCategoricalCrossentropy()(np.array([0, -1, 1]), ops.softmax(logits))
    with pytest.raises(ValueError, match="out of range"):
        losses.sparse_categorical_crossentropy(np.array([0, 9, 1]), logits + 0.25)
    with pytest.raises(ValueError, match="same shape"):
        losses.CategoricalCrossentropy()(np.zeros((3, 3)), logits)
    with pytest.raises(ValueError, match="same shape"):
        losses.binary_crossentropy(np.zeros((3, 2)), logits)
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(logits, logits, axis=True)


def test_reduction_sum_matches_manual_and_none_keeps_shape():
    """Independent of Keras: the arithmetic of the reductions."""
    y_true = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]], "float32")
    y_pred = np.zeros((3, 2), "float32")
    per_sample = np.array([2.5, 12.5, 0.0])
    sw = np.array([1.0, 2.0, 0.0], "float32")
    mse = losses.MeanSquaredError
    np.testing.assert_allclose(np.asarray(mse(reduction="none")(y_true, y_pred)), per_sample)
    np.testing.assert_allclose(float(mse(reduction="sum")(y_true, y_pred, sw)), 27.5)
    np.testing.assert_allclose(float(mse()(y_true, y_pred, sw)), 27.5 / 3)
    np.testing.assert_allclose(
        float(mse(reduction="mean_with_sample_weight")(y_true, y_pred, sw)), 27.5 / 3.0)
    np.testing.assert_allclose(float(mse()(y_true, y_pred)), 15.0 / 3)
