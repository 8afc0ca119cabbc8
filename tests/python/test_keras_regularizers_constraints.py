"""keras.regularizers and keras.constraints: values and gradients against NumPy and Keras,
names, serialization, custom ones (the book's functions and classes)."""
import os

import numpy as np
import pytest

from turbolearn.keras import GradientTape, Variable, constraints, layers, ops, regularizers


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture
def w():
    return np.random.default_rng(0).standard_normal((5, 4)).astype("float32")


@pytest.mark.parametrize("make, penalty, grad", [
    (lambda: regularizers.L1(0.3), lambda w: 0.3 * np.abs(w).sum(), lambda w: 0.3 * np.sign(w)),
    (lambda: regularizers.L2(0.2), lambda w: 0.2 * (w ** 2).sum(), lambda w: 0.4 * w),
    (lambda: regularizers.L1L2(l1=0.1, l2=0.05),
     lambda w: 0.1 * np.abs(w).sum() + 0.05 * (w ** 2).sum(),
     lambda w: 0.1 * np.sign(w) + 0.1 * w),
    (lambda: regularizers.l2(), lambda w: 0.01 * (w ** 2).sum(), lambda w: 0.02 * w),
    (lambda: regularizers.get("l1"), lambda w: 0.01 * np.abs(w).sum(),
     lambda w: 0.01 * np.sign(w)),
])
def test_regularizer_value_and_gradient(make, penalty, grad, w):
    reg = make()
    v = Variable(w)
    with GradientTape() as tape:
        loss = reg(v)
    np.testing.assert_allclose(float(loss), penalty(w), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), grad(w), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, args", [("L1", {"l1": 0.3}), ("L2", {"l2": 0.2}),
                                        ("L1L2", {"l1": 0.1, "l2": 0.05}),
                                        ("OrthogonalRegularizer", {"factor": 0.1})])
def test_regularizers_match_keras(keras, name, args, w):
    ours = getattr(regularizers, name)(**args)
    theirs = getattr(keras.regularizers, name)(**args)
    np.testing.assert_allclose(float(ours(w)), float(keras.ops.convert_to_numpy(theirs(w))),
                               rtol=1e-5)
    assert ours.get_config() == pytest.approx(theirs.get_config())


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_formula(mode, w):
    # Keras' mode="columns" normalizes the wrong axis (its normalize() turns axis=0 into -1),
    # so columns are checked against the formula: factor * mean |cos| over distinct pairs.
    m = w if mode == "rows" else w.T
    u = m / np.linalg.norm(m, axis=1, keepdims=True)
    cos = np.abs(u @ u.T)[~np.eye(len(u), dtype=bool)]
    reg = regularizers.OrthogonalRegularizer(factor=0.2, mode=mode)
    np.testing.assert_allclose(float(reg(w)), 0.2 * cos.mean(), rtol=1e-5)
    v = Variable(w)
    with GradientTape() as tape:
        loss = reg(v)
    g = tape.gradient(loss, v).numpy()
    eps, i, j = 1e-3, 1, 2
    w64 = w.astype("float64")
    plus, minus = w64.copy(), w64.copy()
    plus[i, j] += eps
    minus[i, j] -= eps
    fd = (float(reg(plus)) - float(reg(minus))) / (2 * eps)
    np.testing.assert_allclose(g[i, j], fd, rtol=1e-3, atol=1e-6)


def test_regularizer_defaults_names_serialization(keras):
    assert regularizers.L2().l2 == 0.01 == keras.regularizers.L2().l2
    assert regularizers.L1().l1 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.l1 is regularizers.L1 and regularizers.l1_l2 is regularizers.L1L2
    for name in ("l1", "l2", "L1L2", "orthogonal_regularizer"):
        reg = regularizers.get(name)
        again = regularizers.deserialize(regularizers.serialize(reg))
        assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert regularizers.get(None) is None
    cfg = {"class_name": "L2", "config": {"l2": 0.5}}
    assert regularizers.get(cfg).l2 == 0.5
    with pytest.raises(ValueError, match="regularizer"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1.0)
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), "float32"))


def my_l1_regularizer(weights):
    return ops.sum(ops.abs(0.01 * weights))


class MyL1Regularizer(regularizers.Regularizer):
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return ops.sum(ops.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


def test_custom_regularizers_in_dense(w):
    x = np.ones((2, 5), "float32")
    for reg, factor in ((my_l1_regularizer, 0.01), (MyL1Regularizer(0.05), 0.05)):
        layer = layers.Dense(4, kernel_regularizer=reg)
        layer(x)
        layer.set_weights([w, np.zeros(4, "float32")])
        (loss,) = layer.losses
        np.testing.assert_allclose(float(loss), factor * np.abs(w).sum(), rtol=1e-5)
    cfg = regularizers.serialize(MyL1Regularizer(0.05))
    again = regularizers.deserialize(cfg, custom_objects={"MyL1Regularizer": MyL1Regularizer})
    assert isinstance(again, MyL1Regularizer) and again.factor == 0.05
    with pytest.raises(NotImplementedError):
        regularizers.Regularizer().get_config()


@pytest.mark.parametrize("name, args", [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 1.5, "axis": 1}), ("NonNeg", {}),
    ("UnitNorm", {}), ("UnitNorm", {"axis": [0, 1]}), ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5, "axis": 1}),
])
def test_constraints_match_keras(keras, name, args, w):
    ours = getattr(constraints, name)(**args)
    theirs = getattr(keras.constraints, name)(**args)
    np.testing.assert_allclose(np.asarray(ours(w)), keras.ops.convert_to_numpy(theirs(w)),
                               rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert np.asarray(ours(Variable(w))).shape == w.shape


def test_constraint_properties(w):
    big = 3 * w
    out = np.asarray(constraints.MaxNorm(2.0)(big))
    assert np.all(np.linalg.norm(out, axis=0) <= 2.0 + 1e-5)
    out = np.asarray(constraints.UnitNorm(axis=1)(w))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert np.all(np.asarray(constraints.NonNeg()(w)) >= 0)
    out = np.asarray(constraints.MinMaxNorm(0.5, 0.6)(big))
    norms = np.linalg.norm(out, axis=0)
    assert np.all((norms >= 0.5 - 1e-5) & (norms <= 0.6 + 1e-5))


def my_positive_weights(weights):
    return ops.where(weights < 0.0, ops.zeros_like(weights), weights)


def test_constraint_names_serialization_and_custom(w):
    for alias, cls in (("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                       ("unit_norm", constraints.UnitNorm),
                       ("min_max_norm", constraints.MinMaxNorm), ("MaxNorm", constraints.MaxNorm)):
        c = constraints.get(alias)
        assert isinstance(c, cls)
        again = constraints.deserialize(constraints.serialize(c))
        assert type(again) is cls and again.get_config() == c.get_config()
        assert getattr(constraints, alias if alias.islower() else "MaxNorm") is cls
    assert constraints.get(None) is None
    assert constraints.get(my_positive_weights) is my_positive_weights
    with pytest.raises(ValueError, match="constraint"):
        constraints.get("positive")
    with pytest.raises(ValueError, match="min_value"):
        constraints.MinMaxNorm(2.0, 1.0)
    layer = layers.Dense(4, kernel_constraint=my_positive_weights,
                         bias_constraint="non_neg")
    layer(np.ones((1, 5), "float32"))
    assert layer.kernel.constraint is my_positive_weights
    assert isinstance(layer.bias.constraint, constraints.NonNeg)
    assert np.all(np.asarray(layer.kernel.constraint(w)) >= 0)
