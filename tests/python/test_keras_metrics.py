"""keras.metrics against Keras 3 (torch backend): results over several weighted updates,
reset_state, config round trips, accuracy resolution, bad input."""
import os
import zlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("torch")

from turbolearn.keras import Variable, losses, metrics, ops  # noqa: E402


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _binary(rng, n):
    return (rng.integers(0, 2, (n, 1)).astype("float32"), rng.random((n, 1)).astype("float32"))


def _sparse(rng, n, k=5):
    return rng.integers(0, k, n), rng.random((n, k)).astype("float32")


def _onehot(rng, n, k=5):
    t, p = _sparse(rng, n, k)
    return np.eye(k, dtype="float32")[t], p


def _regression(rng, n):
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")


def _positive(rng, n):
    return rng.uniform(0.1, 2, (n, 3)).astype("float32"), rng.uniform(0.1, 2, (n, 3)).astype("float32")


CASES = [
    ("Accuracy", {}, lambda r, n: (r.integers(0, 3, (n, 1)), r.integers(0, 3, (n, 1)).astype("float32"))),
    ("BinaryAccuracy", {}, _binary),
    ("BinaryAccuracy", {"threshold": 0.3}, _binary),
    ("CategoricalAccuracy", {}, _onehot),
    ("SparseCategoricalAccuracy", {}, _sparse),
    ("SparseCategoricalAccuracy", {}, lambda r, n: (r.integers(0, 5, (n, 1)), r.random((n, 5)).astype("float32"))),
    ("TopKCategoricalAccuracy", {"k": 2}, _onehot),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, _sparse),
    ("MeanSquaredError", {}, _regression),
    ("MeanAbsoluteError", {}, _regression),
    ("RootMeanSquaredError", {}, _regression),
    ("MeanAbsolutePercentageError", {}, _positive),
    ("MeanSquaredLogarithmicError", {}, _positive),
    ("LogCoshError", {}, _regression),
    ("CosineSimilarity", {}, _regression),
    ("Hinge", {}, _binary),
    ("SquaredHinge", {}, _binary),
    ("KLDivergence", {}, _positive),
    ("Poisson", {}, _positive),
    ("BinaryCrossentropy", {}, _binary),
    ("CategoricalCrossentropy", {}, _onehot),
    ("SparseCategoricalCrossentropy", {}, _sparse),
    ("Precision", {}, _binary),
    ("Recall", {}, _binary),
    ("Precision", {"thresholds": [0.1, 0.5, 0.9]}, _binary),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, _binary),
    ("Precision", {"top_k": 2}, _onehot),
    ("Recall", {"class_id": 2}, _onehot),
    ("Precision", {"top_k": 2, "class_id": 1}, _onehot),
    ("TruePositives", {}, _binary),
    ("FalsePositives", {"thresholds": [0.3, 0.6]}, _binary),
    ("TrueNegatives", {}, _binary),
    ("FalseNegatives", {}, _binary),
    ("AUC", {}, _binary),
    ("AUC", {"num_thresholds": 17}, _binary),
    ("AUC", {"curve": "PR"}, _binary),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, _binary),
    ("AUC", {"summation_method": "minoring"}, _binary),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7]}, _binary),
    ("AUC", {"multi_label": True}, _onehot),
    ("AUC", {"multi_label": True, "curve": "PR", "num_labels": 5}, _onehot),
    ("AUC", {"from_logits": True}, lambda r, n: (r.integers(0, 2, (n, 1)), r.normal(size=(n, 1)).astype("float32"))),
]


@pytest.mark.parametrize("cls_name,kwargs,make", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_matches_keras_over_updates_and_reset(cls_name, kwargs, make, weighted):
    rng = np.random.default_rng(zlib.crc32(repr((cls_name, kwargs, weighted)).encode()))
    ours = getattr(metrics, cls_name)(**kwargs)
    ref = getattr(keras.metrics, cls_name)(**kwargs)
    for round_ in range(2):
        for n in (1, 7, 30):
            y_true, y_pred = make(rng, n)
            sw = rng.uniform(0, 2, n).astype("float32") if weighted else None
            ours.update_state(y_true, y_pred, sample_weight=sw)
            ref.update_state(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(_np(ours.result()), _np(ref.result()), rtol=1e-5, atol=1e-6)
        ours.reset_state()
        ref.reset_state()
        np.testing.assert_allclose(_np(ours.result()), _np(ref.result()), atol=1e-7)
    for v in ours.variables:
        assert isinstance(v, Variable) and not v.trainable
    assert len(ours.variables) == len(ref.variables)


@pytest.mark.parametrize("cls_name,kwargs,make", CASES)
def test_metric_config_round_trip_and_names(cls_name, kwargs, make):
    ours = getattr(metrics, cls_name)(**kwargs)
    ref = getattr(keras.metrics, cls_name)(**kwargs)
    config = ours.get_config()
    ref_config = ref.get_config()
    if cls_name != "CosineSimilarity":  # Keras drops the axis from its config
        assert set(config) == set(ref_config)
    for key in ("thresholds", "top_k", "class_id", "k", "threshold", "num_thresholds",
                "curve", "summation_method", "multi_label", "from_logits"):
        if key in ref_config:
            assert config[key] == ref_config[key], key
    if "_" not in ref.name or ref.name.rstrip("0123456789").rstrip("_") == ref.name:
        assert ours.name.rstrip("0123456789").rstrip("_") == \
            ref.name.rstrip("0123456789").rstrip("_")
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    again = metrics.deserialize(metrics.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == config


def test_mean_and_sum_with_weights_of_every_shape():
    for values, sw in [
        (np.array([1.0, 2.0, 3.0, 4.0]), None),
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, 2.0, 1.0])),
        (np.array([1.0, 2.0, 3.0, 4.0]), 0.5),
        (np.arange(12.0).reshape(4, 3), np.array([1.0, 2.0, 0.0, 1.0])),
        (np.arange(12.0).reshape(4, 3), np.arange(12.0).reshape(4, 3) % 2),
        (np.arange(4.0).reshape(4, 1), np.array([1.0, 2.0, 3.0, 4.0])),
    ]:
        for cls in ("Mean", "Sum"):
            ours, ref = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
            for scale in (1.0, 3.0):
                ours.update_state(values * scale, sample_weight=sw)
                ref.update_state(values * scale, sample_weight=sw)
            np.testing.assert_allclose(float(ours.result()), float(_np(ref.result())),
                                       rtol=1e-6)


def test_metric_functions_match_keras():
    rng = np.random.default_rng(2)
    t, p = _sparse(rng, 20)
    oh = np.eye(5, dtype="float32")[t]
    bt, bp = _binary(rng, 20)
    for name, args in [("sparse_categorical_accuracy", (t, p)),
                       ("categorical_accuracy", (oh, p)),
                       ("top_k_categorical_accuracy", (oh, p)),
                       ("sparse_top_k_categorical_accuracy", (t, p)),
                       ("binary_accuracy", (bt, bp)),
                       ("mean_squared_error", (bt, bp)),
                       ("binary_crossentropy", (bt, bp))]:
        ours = np.asarray(getattr(metrics, name)(*args))
        ref = _np(getattr(keras.metrics, name)(*args))
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6, err_msg=name)


def test_call_is_update_then_result_and_tensor_inputs():
    m = metrics.SparseCategoricalAccuracy()
    r1 = m([0, 1], np.array([[0.9, 0.1], [0.8, 0.2]], "float32"))
    assert float(r1) == 0.5
    logits = Variable(np.array([[2.0, 0.0], [0.0, 2.0]], "float32"))
    r2 = m(np.array([1, 1]), ops.softmax(logits))  # a Tensor on no tape
    assert float(r2) == 0.5


def test_crossentropy_metric_uses_logits_of_softmax_output():
    logits = np.array([[1000.0, -1000.0], [0.0, 0.0]], "float32")
    m = metrics.SparseCategoricalCrossentropy()
    m.update_state(np.array([1, 0]), ops.softmax(logits))
    np.testing.assert_allclose(float(m.result()), (2000.0 + np.log(2)) / 2, rtol=1e-6)


def test_custom_metric_subclass_as_in_the_book():
    class HuberMetric(metrics.Metric):
        def __init__(self, threshold=1.0, **kwargs):
            super().__init__(**kwargs)
            self.threshold = threshold
            self.total = self.add_weight("total", initializer="zeros")  # tf.keras order
            self.count = self.add_weight(name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            error = ops.subtract(y_true, y_pred)
            small = ops.less(ops.abs(error), self.threshold)
            loss = ops.where(small, ops.square(error) / 2,
                             self.threshold * ops.abs(error) - self.threshold ** 2 / 2)
            self.total.assign_add(ops.sum(loss))
            self.count.assign_add(np.float32(np.size(y_true)))

        def result(self):
            return self.total / self.count

        def get_config(self):
            return {**super().get_config(), "threshold": self.threshold}

    m = HuberMetric(threshold=2.0, name="huber_metric")
    y_true = np.array([[0.0], [1.0], [5.0]], "float32")
    y_pred = np.array([[0.5], [4.0], [5.0]], "float32")
    expected = (0.125 + (2 * 3 - 2) + 0) / 3
    np.testing.assert_allclose(float(m(y_true, y_pred)), expected, rtol=1e-6)
    assert [v.name for v in m.variables] == ["total", "count"]
    m.reset_state()
    assert float(m.total.value) == 0 and float(m.count.value) == 0
    clone = HuberMetric.from_config(m.get_config())
    assert clone.threshold == 2.0 and clone.name == "huber_metric"
    with pytest.raises(RuntimeError, match="super"):
        class Broken(metrics.Metric):
            def __init__(self):
                self.add_variable(())
        Broken()


# --- compile-time resolution --------------------------------------------------------------


def _keras_pick(identifier, y_true, y_pred):
    from keras.src.trainers.compile_utils import get_metric
    return get_metric(identifier, y_true, y_pred)


@pytest.mark.parametrize("identifier", ["accuracy", "acc", "ACC"])
@pytest.mark.parametrize("t_shape,p_shape", [
    ((8, 1), (8, 1)), ((8,), (8, 1)), ((8,), (8, 5)), ((8, 1), (8, 5)), ((8, 5), (8, 5)),
    ((8,), (8,)), ((2, 8), (2, 8, 3)), ((1, 1), (1, 1)), ((1,), (1, 4))])
def test_accuracy_resolution_matches_keras(identifier, t_shape, p_shape):
    y_true, y_pred = np.zeros(t_shape, "float32"), np.zeros(p_shape, "float32")
    ours = metrics.get_for_model(identifier, "mse", y_true, y_pred)
    ref = _keras_pick(identifier, y_true, y_pred)
    assert type(ours).__name__ == type(ref).__name__
    assert ours.name == ref.name == identifier


@pytest.mark.parametrize("identifier", ["mse", "mae", "AUC", "auc", "precision",
                                        "sparse_categorical_accuracy", "binary_accuracy",
                                        "root_mean_squared_error", "MeanSquaredError"])
def test_string_resolution_matches_keras(identifier):
    y = np.zeros((4, 1), "float32")
    ours = metrics.get_for_model(identifier, None, y, y)
    ref = _keras_pick(identifier, y, y)
    assert type(ours).__name__ == type(ref).__name__
    assert ours.name == ref.name


def test_resolution_of_instances_functions_and_crossentropy():
    m = metrics.AUC(name="my_auc")
    assert metrics.get_for_model(m, None, None, None) is m

    def my_metric(y_true, y_pred):
        return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)
    wrapped = metrics.get_for_model(my_metric, None, np.zeros((2, 1)), np.zeros((2, 1)))
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    wrapped.update_state(np.array([[1.0], [3.0]]), np.zeros((2, 1), "float32"))
    assert float(wrapped.result()) == 2.0
    assert metrics.get_for_model(metrics.mean_squared_error, None, None, None).name == \
        "mean_squared_error"
    for p_shape, t_shape, cls in [((4, 1), (4, 1), metrics.BinaryCrossentropy),
                                  ((4, 3), (4,), metrics.SparseCategoricalCrossentropy),
                                  ((4, 3), (4, 3), metrics.CategoricalCrossentropy)]:
        got = metrics.get_for_model("ce", None, np.zeros(t_shape), np.zeros(p_shape))
        assert type(got) is cls and got.name == "ce"


def test_resolution_by_loss_when_shapes_are_unknown():
    for loss, cls in [("binary_crossentropy", metrics.BinaryAccuracy),
                      (losses.BinaryCrossentropy(), metrics.BinaryAccuracy),
                      ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
                      (losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics.SparseCategoricalAccuracy),
                      (losses.categorical_crossentropy, metrics.CategoricalAccuracy)]:
        assert type(metrics.get_for_model("accuracy", loss)) is cls
    with pytest.raises(ValueError, match="accuracy"):
        metrics.get_for_model("accuracy", "mse")


def test_get_and_bad_inputs():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert metrics.get(None) is None
    with pytest.raises(ValueError, match="not_a_metric"):
        metrics.get("not_a_metric")
    with pytest.raises(ValueError, match="not_a_metric"):
        metrics.get_for_model("not_a_metric", None, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError):
        metrics.get_for_model(None)
    with pytest.raises(ValueError, match="Threshold"):
        metrics.Precision(thresholds=[1.5])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XYZ")
    with pytest.raises(ValueError, match="class_id"):
        metrics.Precision(class_id=1).update_state(np.zeros(3), np.zeros(3))
