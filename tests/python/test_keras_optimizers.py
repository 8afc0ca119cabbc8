"""keras.optimizers against Keras 3 (torch backend): the same initial weights and gradients,
several steps, parameters and slot variables compared; schedules, clipping, weight decay,
constraints, the learning-rate setter, legacy lr= and decay=, config round trips, errors."""
import os

import numpy as np
import pytest

from turbolearn.keras import Variable, optimizers
from turbolearn.keras.optimizers import schedules

os.environ.setdefault("KERAS_BACKEND", "torch")

RTOL = 1e-6  # float32, relative (atol scaled by the values' magnitude)
SHAPES = [(7, 5), (5,), (3, 2, 4)]
STEPS = 5


def keras():
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("the Keras reference runs on its torch backend")
    return k


def data(rng, dtype=np.float32):
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def run_ours(opt, init, grads, constraint=None):
    vs = [Variable(w, name=f"w{i}", constraint=constraint) for i, w in enumerate(init)]
    for g in grads:
        opt.apply(g, vs)
    return [v.numpy() for v in vs], opt


def run_keras(k, opt, init, grads, constraint=None):
    vs = [k.Variable(w, name=f"w{i}") for i, w in enumerate(init)]
    for v in vs:
        v.constraint = constraint  # (keras.Variable's constructor drops the argument)
    for g in grads:
        opt.apply([k.ops.convert_to_tensor(x) for x in g], vs)
    return [k.ops.convert_to_numpy(v) for v in vs], opt


def assert_close(a, b, rtol=RTOL):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, np.abs(y).max()))


CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("AdamW", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "learning_rate": 0.01}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.1, "l2_shrinkage_regularization_strength": 0.05,
              "beta": 0.5, "learning_rate_power": -0.7}),
    ("Adam", {"clipnorm": 1.0}),
    ("Adam", {"clipvalue": 0.5}),
    ("SGD", {"global_clipnorm": 1.5, "momentum": 0.9}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_keras(rng, name, kwargs):
    k = keras()
    init, grads = data(rng)
    ours, opt = run_ours(getattr(optimizers, name)(**kwargs), init, grads)
    theirs, kopt = run_keras(k, getattr(k.optimizers, name)(**kwargs), init, grads)
    assert_close(ours, theirs)
    # the slot variables, in Keras' order (iteration, learning rate, slots...)
    ov = [np.asarray(v.numpy()) for v in opt.variables]
    kv = [k.ops.convert_to_numpy(v) for v in kopt.variables]
    assert len(ov) == len(kv)
    assert [tuple(np.shape(x)) for x in ov] == [tuple(np.shape(x)) for x in kv]
    assert_close(ov, kv, rtol=1e-5)
    assert int(opt.iterations) == int(kopt.iterations) == STEPS


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Nadam"])
def test_float64_matches_keras(rng, name):
    k = keras()
    init, grads = data(rng, np.float64)
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    ours, _ = run_ours(getattr(optimizers, name)(**kwargs), init, grads)
    theirs, _ = run_keras(k, getattr(k.optimizers, name)(**kwargs), init, grads)
    for a in ours:
        assert a.dtype == np.float64
    assert_close(ours, theirs, rtol=1e-12)


def test_constraint_applied(rng):
    k = keras()
    init, grads = data(rng)
    ours, _ = run_ours(optimizers.SGD(0.5), init, grads, constraint=lambda w: w * 0 + 0.25 * w)
    theirs, _ = run_keras(k, k.optimizers.SGD(0.5), init, grads,
                          constraint=lambda w: w * 0 + 0.25 * w)
    assert_close(ours, theirs)


def test_exclude_from_weight_decay(rng):
    k = keras()
    init, grads = data(rng)
    vs = [Variable(w, name=n) for w, n in zip(init, ["kernel", "bias", "other"])]
    kvs = [k.Variable(w, name=n) for w, n in zip(init, ["kernel", "bias", "other"])]
    opt, kopt = optimizers.AdamW(0.01, weight_decay=0.5), k.optimizers.AdamW(0.01, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    kopt.exclude_from_weight_decay(var_names=["bias"])
    for g in grads:
        opt.apply(g, vs)
        kopt.apply([k.ops.convert_to_tensor(x) for x in g], kvs)
    assert_close([v.numpy() for v in vs], [k.ops.convert_to_numpy(v) for v in kvs])


SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01])),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=6, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, cycle=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=6, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=6, warmup_target=0.2, warmup_steps=3)),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules_match_keras(rng, name, kwargs):
    k = keras()
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(k.optimizers.schedules, name)(**kwargs)
    for step in range(12):
        np.testing.assert_allclose(float(ours(step)), float(k.ops.convert_to_numpy(theirs(step))),
                                   rtol=1e-6, atol=1e-9)
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config() == theirs.get_config()
    # as a learning rate
    init, grads = data(rng)
    a, opt = run_ours(optimizers.SGD(learning_rate=ours, momentum=0.9), init, grads)
    b, _ = run_keras(k, k.optimizers.SGD(learning_rate=theirs, momentum=0.9), init, grads)
    assert_close(a, b)
    np.testing.assert_allclose(float(opt.learning_rate), float(ours(STEPS)), rtol=1e-7)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_learning_rate_setter_and_reading(rng):
    opt = optimizers.Adam(learning_rate=0.01)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == pytest.approx(0.5)
    assert opt.get_config()["learning_rate"] == pytest.approx(0.5)
    # the update uses the new rate: one SGD step is w - lr * g
    sgd = optimizers.SGD(0.1)
    v = Variable(np.ones(3, np.float32))
    sgd.apply([np.ones(3, np.float32)], [v])
    sgd.learning_rate = 0.25
    sgd.apply([np.ones(3, np.float32)], [v])
    np.testing.assert_allclose(v.numpy(), 1 - 0.1 - 0.25, rtol=1e-6)
    assert int(sgd.iterations) == 2 and int(sgd.iterations.numpy()) == 2


def test_legacy_lr_and_decay():
    opt = optimizers.SGD(lr=0.5, decay=0.1)
    assert float(opt.learning_rate) == pytest.approx(0.5)
    v = Variable(np.zeros(2, np.float32))
    expected = 0.0
    for it in range(4):
        opt.apply([np.ones(2, np.float32)], [v])
        expected -= 0.5 / (1 + 0.1 * it)
    np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6)
    assert optimizers.SGD.from_config(opt.get_config()).decay == 0.1


def test_none_gradients_are_skipped():
    opt = optimizers.SGD(1.0)
    a, b = Variable(np.ones(2, np.float32)), Variable(np.ones(2, np.float32))
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([None, np.ones(2, np.float32)], [a, b])
    np.testing.assert_array_equal(a.numpy(), 1)
    np.testing.assert_array_equal(b.numpy(), 0)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None, None], [a, b])


def test_apply_gradients_and_build():
    opt = optimizers.Adam()
    a = Variable(np.ones((2, 2), np.float32), name="a")
    opt.build([a])
    assert len(opt.variables) == 4  # iteration, learning rate, momentum, velocity
    opt.apply_gradients([(np.ones((2, 2), np.float32), a)])
    opt.apply([np.ones((2, 2), np.float32)])  # the built variables
    assert int(opt.iterations) == 2


def test_errors():
    with pytest.raises(ValueError, match="nadamx"):
        optimizers.get("nadamx")
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(foo=1)
    opt = optimizers.SGD()
    v = Variable(np.ones((2, 3), np.float32), name="dense/kernel")
    with pytest.raises(ValueError, match="dense/kernel"):
        opt.apply([np.ones((3, 2), np.float32)], [v])
    # Keras does not check the sign of the learning rate: a negative one ascends.
    neg = optimizers.SGD(learning_rate=-0.5)
    w = Variable(np.zeros(1, np.float32))
    neg.apply([np.ones(1, np.float32)], [w])
    assert w.numpy()[0] == pytest.approx(0.5)


def test_get_serialize_roundtrip():
    for name in ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamw", "adamax", "nadam",
                 "ftrl", "Adam", "SGD"]:
        opt = optimizers.get(name)
        assert type(opt).__name__.lower() == name.lower()
        again = optimizers.deserialize(optimizers.serialize(opt))
        assert type(again) is type(opt)
        assert {k: v for k, v in again.get_config().items() if k != "name"} == \
               {k: v for k, v in opt.get_config().items() if k != "name"}
    sched = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))
    again = optimizers.deserialize(optimizers.serialize(sched))
    assert isinstance(again._learning_rate, schedules.ExponentialDecay)


def test_config_matches_keras():
    k = keras()
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl"]:
        ours = getattr(optimizers, name)(name="x").get_config()
        theirs = getattr(k.optimizers, name)(name="x").get_config()
        assert set(ours) == set(theirs), name
        for key in ours:
            if isinstance(ours[key], float):
                assert ours[key] == pytest.approx(theirs[key]), (name, key)
            else:
                assert ours[key] == theirs[key], (name, key)
