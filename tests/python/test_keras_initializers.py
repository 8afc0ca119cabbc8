"""keras.initializers: statistics against the formulas and Keras' fan computations, seeds,
names, serialization."""
import math
import os

import numpy as np
import pytest

from turbolearn.keras import initializers, random as tl_random

SHAPES = [(300, 200), (3, 3, 40, 64), (5, 7, 11, 3, 20), (1000,)]


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("shape", SHAPES + [(), (4, 6, 8)])
def test_fans_match_keras(keras, shape):
    from keras.src.initializers.random_initializers import compute_fans
    assert initializers.compute_fans(shape) == compute_fans(shape)


def _fans(shape):
    return initializers.compute_fans(shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, scale, mode, dist", [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"), ("glorot_normal", 1.0, "fan_avg", "normal"),
    ("he_normal", 2.0, "fan_in", "normal"), ("he_uniform", 2.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "normal"), ("lecun_uniform", 1.0, "fan_in", "uniform"),
])
def test_variance_scaling_presets(name, scale, mode, dist, shape):
    w = initializers.get(name)(shape)
    assert w.shape == shape and w.dtype == np.float32
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = scale / max(1.0, n)
    rel = 4 / math.sqrt(w.size)  # ~4 standard errors of a variance estimate (kurtosis <= 3)
    assert abs(w.var() / var - 1) < rel * 1.5
    assert abs(w.mean()) < 5 * math.sqrt(var / w.size)
    if dist == "uniform":
        limit = math.sqrt(3 * var)
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.98 * limit
    else:  # truncated at two (pre-correction) standard deviations
        bound = 2 * math.sqrt(var) / 0.87962566103423978
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.97 * bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(mode, distribution):
    shape = (3, 3, 30, 50)
    init = initializers.VarianceScaling(scale=0.7, mode=mode, distribution=distribution,
                                        seed=3)
    w = init(shape, dtype="float64")
    assert w.dtype == np.float64
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    assert abs(w.var() / (0.7 / n) - 1) < 0.05
    if distribution == "untruncated_normal":
        assert np.abs(w).max() > 2.2 * math.sqrt(0.7 / n)  # not truncated


def test_variance_scaling_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    assert initializers.VarianceScaling(distribution="normal").distribution == \
        "truncated_normal"
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed=-1)


def test_random_normal_uniform_truncated():
    w = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=1)((200, 500))
    assert abs(w.mean() - 1) < 0.02 and abs(w.std() - 2) < 0.02
    w = initializers.RandomUniform(minval=-1.0, maxval=3.0, seed=1)((200, 500))
    assert w.min() >= -1 and w.max() < 3 and abs(w.mean() - 1) < 0.02
    w = initializers.TruncatedNormal(mean=0.5, stddev=0.1, seed=1)((200, 500))
    assert np.all(np.abs(w - 0.5) <= 0.2 + 1e-6)
    assert abs(w.std() - 0.1 * 0.87962566) < 0.002
    defaults = initializers.RandomNormal().get_config()
    assert defaults == {"seed": None, "mean": 0.0, "stddev": 0.05}


def test_constant_zeros_ones_identity():
    assert np.all(initializers.Zeros()((2, 3)) == 0)
    assert np.all(initializers.Ones()((2, 3), dtype="float64") == 1)
    assert np.all(initializers.Constant(2.5)((4,)) == 2.5)
    np.testing.assert_array_equal(initializers.Constant([1, 2])((3, 2)), [[1, 2]] * 3)
    with pytest.raises(ValueError, match="Constant"):
        initializers.Constant([1, 2, 3])((3, 2))
    np.testing.assert_array_equal(initializers.Identity(gain=3)((2, 3)),
                                  3 * np.eye(2, 3, dtype="float32"))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 4, 5), (5, 5)])
def test_orthogonal(shape):
    w = initializers.Orthogonal(gain=2.0, seed=0)(shape, dtype="float64")
    m = w.reshape(-1, shape[-1])
    if m.shape[0] >= m.shape[1]:
        np.testing.assert_allclose(m.T @ m, 4 * np.eye(m.shape[1]), atol=1e-10)
    else:
        np.testing.assert_allclose(m @ m.T, 4 * np.eye(m.shape[0]), atol=1e-10)
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((5,))


def test_seeds_reproducible_and_global_generator():
    a = initializers.HeNormal(seed=42)((5, 5))
    np.testing.assert_array_equal(a, initializers.HeNormal(seed=42)((5, 5)))
    init = initializers.GlorotUniform(seed=7)
    np.testing.assert_array_equal(init((3, 4)), init((3, 4)))  # as Keras: seeded = same
    assert not np.array_equal(a, initializers.HeNormal(seed=43)((5, 5)))
    tl_random.set_seed(123)
    u1 = initializers.GlorotUniform()((4, 4))
    u2 = initializers.GlorotUniform()((4, 4))
    assert not np.array_equal(u1, u2)
    tl_random.set_seed(123)
    np.testing.assert_array_equal(u1, initializers.GlorotUniform()((4, 4)))
    with pytest.raises(ValueError):
        tl_random.set_seed(-3)
    assert isinstance(tl_random.seed_generator(), np.random.Generator)


ALL_NAMES = ["constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
             "identity", "lecun_normal", "lecun_uniform", "ones", "orthogonal",
             "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
             "zeros", "GlorotUniform", "HeNormal", "Zeros", "normal", "uniform", "one", "zero"]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_get_by_name_and_serialize_round_trip(keras, name):
    init = initializers.get(name)
    assert isinstance(init, initializers.Initializer)
    ours = initializers.serialize(init)
    again = initializers.deserialize(ours)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    # same config keys as Keras' own initializer
    theirs = getattr(keras.initializers, type(init).__name__)().get_config()
    if name not in ("identity",):  # Keras' Identity drops its gain from the config
        assert set(init.get_config()) == set(theirs)
    assert initializers.get(ours).get_config() == init.get_config()


def test_get_other_identifiers():
    assert initializers.get(None) is None
    assert isinstance(initializers.get(initializers.HeUniform), initializers.HeUniform)

    def my_init(shape, dtype=None):
        return np.full(shape, 3.0, dtype=dtype)
    assert initializers.get(my_init) is my_init
    value = np.arange(6.0).reshape(2, 3)
    fn = initializers.get(value)
    np.testing.assert_array_equal(fn((2, 3)), value.astype("float32"))
    with pytest.raises(ValueError, match="shape"):
        fn((3, 2))
    with pytest.raises(ValueError, match="initializer"):
        initializers.get("not_an_initializer")
    with pytest.raises(ValueError, match="initializer"):
        initializers.get(3)
    # a layers.Identity and an initializers.Identity share a class name: the saved module
    # decides
    from turbolearn.keras.saving import deserialize_keras_object, serialize_keras_object
    obj = deserialize_keras_object(serialize_keras_object(initializers.Identity(gain=2.0)))
    assert isinstance(obj, initializers.Identity) and obj.gain == 2.0


def test_subclassed_initializer_in_layer():
    from turbolearn.keras import layers

    class Scaled(initializers.Initializer):
        def __init__(self, factor):
            self.factor = factor

        def __call__(self, shape, dtype=None):
            return self.factor * np.ones(shape, dtype=dtype)

        def get_config(self):
            return {"factor": self.factor}

    layer = layers.Dense(3, kernel_initializer=Scaled(0.5))
    layer(np.ones((2, 4), "float32"))
    np.testing.assert_array_equal(layer.kernel.numpy(), np.full((4, 3), 0.5))
    clone = Scaled.from_config(Scaled(2).get_config())
    assert clone.factor == 2
