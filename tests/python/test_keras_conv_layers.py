"""The convolution layers and keras.ops convolutions against Keras 3 (torch backend): forward
values and the gradients with respect to inputs and weights (identical weights via
set_weights), output shapes (also symbolic, with unknown sizes), parameter counts, configs and
their round trip, Keras' errors, model files, summary counts, and training through fit.

Tolerances: float32 outputs within 1e-4 absolute plus 1e-5 relative, gradients within 1e-4
times the largest reference value plus 1e-4 relative (sums over many pixels lose digits in
proportion to their largest terms).
"""
import os

import numpy as np
import pytest

from turbolearn.keras import GradientTape, backend, layers, ops


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def fresh():
    backend.clear_session()


def assert_close(actual, expected, atol=1e-4):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()) if expected.size else 1.0, 1.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=atol * scale)


def ours_with_grads(layer, x, upstream):
    xt = ops.convert_to_tensor(x)
    with GradientTape(persistent=True) as tape:
        tape.watch(xt)
        out = layer(xt)
        loss = ops.sum(ops.multiply(out, upstream))
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    return np.asarray(out), [np.asarray(g) for g in grads]


def theirs_with_grads(torch, layer, x, upstream):
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xt)
    (out * torch.tensor(upstream)).sum().backward()
    return out.detach().numpy(), [xt.grad.numpy()] + [w.value.grad.numpy()
                                                      for w in layer.trainable_weights]


def compare_layer(keras, torch, name, kwargs, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype("float32")
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    k_out = theirs(x)
    ours(x)  # build
    values = [rng.standard_normal(tuple(w.shape)).astype("float32") * 0.5 for w in theirs.weights]
    theirs.set_weights(values)
    ours.set_weights(values)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    upstream = rng.standard_normal(tuple(k_out.shape)).astype("float32")
    out, grads = ours_with_grads(ours, x, upstream)
    k_out, k_grads = theirs_with_grads(torch, theirs, x, upstream)
    assert_close(out, k_out)
    assert len(grads) == len(k_grads)
    for g, k in zip(grads, k_grads):
        assert_close(g, k)
    assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))
    return ours, theirs


LAYER_CASES = [
    ("Conv2D", dict(filters=5, kernel_size=3, padding="SAME", activation="relu"), (2, 8, 7, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(2, 4), padding="same"), (1, 6, 9, 3)),
    ("Conv2D", dict(filters=7, kernel_size=3, strides=2, padding="Same", activation="tanh"),
     (3, 9, 10, 5)),
    ("Conv2D", dict(filters=6, kernel_size=(3, 2), strides=(3, 2), activation="elu"),
     (2, 11, 9, 4)),
    ("Conv2D", dict(filters=6, kernel_size=3, groups=3, padding="same", activation="selu"),
     (2, 7, 8, 9)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=2, activation="sigmoid"),
     (2, 9, 9, 3)),
    ("Conv2D", dict(filters=3, kernel_size=5, padding="same", activation="softmax"),
     (1, 3, 4, 2)),  # kernel larger than the input
    ("Conv2D", dict(filters=9, kernel_size=1, use_bias=False, activation="softplus"),
     (2, 5, 6, 17)),
    ("Conv2D", dict(filters=4, kernel_size=3, data_format="channels_first", activation="gelu"),
     (2, 3, 7, 6)),  # an activation applied after the op
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 11, 3)),
    ("Conv1D", dict(filters=5, kernel_size=4, padding="same", strides=2, activation="relu"),
     (2, 11, 3)),
    ("Conv1D", dict(filters=6, kernel_size=3, groups=2, data_format="channels_first"),
     (1, 4, 10)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same",
                             activation="relu"), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=5, kernel_size=4, strides=2, padding="same"), (1, 4, 3, 2)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=(3, 4), strides=(2, 3), padding="valid",
                             output_padding=(1, 2)), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=3, padding="valid",
                             activation="sigmoid"), (2, 4, 4, 5)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=5, strides=2, padding="same",
                             output_padding=1, data_format="channels_first"), (1, 3, 4, 5)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, dilation_rate=2, padding="same"),
     (2, 5, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=1, strides=2, padding="same"), (1, 3, 3, 2)),
    ("Conv1DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same",
                             activation="tanh"), (2, 7, 3)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=4, strides=3, output_padding=2), (1, 5, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same",
                             activation="relu"), (2, 7, 6, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(3, 5), strides=2), (1, 9, 11, 5)),
    ("DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2, data_format="channels_first"),
     (2, 3, 8, 8)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=3, strides=2), (2, 9, 4)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, depth_multiplier=2, padding="same",
                             activation="relu"), (2, 7, 6, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, strides=2, use_bias=False),
     (1, 8, 9, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, data_format="channels_first"),
     (2, 3, 7, 6)),
    ("SeparableConv1D", dict(filters=5, kernel_size=3, strides=2, activation="tanh"),
     (2, 9, 3)),
]


def case_id(case):
    name, kwargs, shape = case
    return f"{name}-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", LAYER_CASES, ids=case_id)
def test_layer_matches_keras(keras, torch, case):
    compare_layer(keras, torch, *case)


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Conv2D", dict(filters=6, kernel_size=5), (None, 32, 32, 1)),
    ("Conv2D", dict(filters=16, kernel_size=3, strides=2, padding="same"), (None, None, None, 3)),
    ("Conv1D", dict(filters=20, kernel_size=2, padding="causal", dilation_rate=4), (None, None, 1)),
    ("Conv2DTranspose", dict(filters=32, kernel_size=3, strides=2, padding="same"),
     (None, 7, 7, 64)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="valid"),
     (None, None, 5, 8)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=5, strides=2), (None, 9, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=4), (None, 10, 10, 8)),
    ("SeparableConv2D", dict(filters=64, kernel_size=3, padding="same"), (None, 28, 28, 32)),
])
def test_symbolic_shapes_and_parameter_counts(keras, name, kwargs, shape):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    out = ours(layers.Input(shape[1:]))
    k_out = theirs(keras.Input(shape[1:]))
    assert tuple(out.shape) == tuple(k_out.shape)
    assert ours.count_params() == theirs.count_params()


CONFIG_CASES = [
    ("Conv2D", dict(filters=8, kernel_size=(3, 2), strides=2, padding="same", groups=2,
                    activation="relu", kernel_initializer="he_normal", kernel_regularizer="l2",
                    bias_constraint="non_neg")),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2,
                    use_bias=False)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=4, strides=2, padding="same",
                             output_padding=1, activation="sigmoid")),
    ("Conv1DTranspose", dict(filters=3, kernel_size=4, data_format="channels_first")),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, depthwise_regularizer="l1",
                             activity_regularizer="l2")),
    ("DepthwiseConv1D", dict(kernel_size=5, strides=2)),
    ("SeparableConv2D", dict(filters=6, kernel_size=3, depth_multiplier=3,
                             pointwise_initializer="zeros", depthwise_constraint="max_norm")),
    ("SeparableConv1D", dict(filters=6, kernel_size=3)),
]


@pytest.mark.parametrize("name, kwargs", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_get_config_matches_keras_and_round_trips(keras, name, kwargs):
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    config = ours.get_config()
    k_config = theirs.get_config()
    assert list(config) == list(k_config)  # the same keys, in Keras' order
    for key, value in k_config.items():
        if key in ("name", "dtype"):
            continue
        if isinstance(value, dict):
            assert config[key]["class_name"] == value["class_name"], key
            assert config[key]["config"] == pytest.approx(value["config"]), key  # float32 in Keras
        elif isinstance(value, tuple):
            assert tuple(config[key]) == value, key
        else:
            assert config[key] == value, key
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    from turbolearn.keras.saving import deserialize_keras_object, serialize_keras_object
    again = deserialize_keras_object(serialize_keras_object(ours))
    assert type(again) is type(ours) and again.get_config() == config


def test_aliases(keras):
    for alias in ("Convolution1D", "Convolution2D", "Convolution1DTranspose",
                  "Convolution2DTranspose", "SeparableConvolution1D", "SeparableConvolution2D"):
        assert getattr(layers, alias).__name__ == getattr(keras.layers, alias).__name__


@pytest.mark.parametrize("make, error", [
    (lambda m: m.Conv2D(0, 3), "Invalid value for argument `filters`"),
    (lambda m: m.Conv2D(4, 3, groups=3), "evenly divisible by the number of groups"),
    (lambda m: m.Conv2D(4, 3, groups=0), "The number of groups must be a positive integer"),
    (lambda m: m.Conv2D(4, 0), "The `kernel_size` argument must be a tuple of 2 integers"),
    (lambda m: m.Conv2D(4, (3, 3, 3)), "The `kernel_size` argument must be a tuple of 2"),
    (lambda m: m.Conv2D(4, 3, strides=0), "The `strides` argument must be a tuple"),
    (lambda m: m.Conv2D(4, 3, padding="causal"), "The `padding` argument must be"),
    (lambda m: m.Conv2D(4, 3, padding="full"), "The `padding` argument must be"),
    (lambda m: m.Conv2D(4, 3, strides=2, dilation_rate=2), "`strides > 1` not supported"),
    (lambda m: m.Conv2D(4, 3, data_format="nhwc"), "The `data_format` argument must be"),
    (lambda m: m.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     "`output_padding` must be strictly less than `strides`"),
    (lambda m: m.DepthwiseConv2D(3, depth_multiplier=0),
     "Invalid value for argument `depth_multiplier`"),
    (lambda m: m.SeparableConv2D(0, 3), "Invalid value for argument `filters`"),
])
def test_keras_argument_errors(keras, make, error):
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        make(keras.layers)
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        make(layers)


def test_build_and_call_errors():
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        layers.Conv2D(2, 5)(np.zeros((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match="The number of input channels must be evenly"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    conv = layers.Conv2D(4, 3)
    conv(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        conv(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        conv(np.zeros((5, 5, 3), "float32"))


# --- keras.ops -----------------------------------------------------------------------------

OP_CASES = [
    ("conv", (2, 9, 8, 4), [(3, 2, 4, 5)], dict(strides=2, padding="same")),
    ("conv", (2, 9, 8, 4), [(3, 3, 2, 6)], dict(padding="valid", dilation_rate=2)),  # groups 2
    ("conv", (2, 4, 9, 8), [(3, 3, 4, 5)], dict(padding="same", data_format="channels_first")),
    ("conv", (2, 13, 3), [(4, 3, 5)], dict(strides=3, padding="same")),
    ("depthwise_conv", (2, 9, 8, 3), [(3, 3, 3, 2)], dict(strides=(2, 1), padding="same")),
    ("depthwise_conv", (2, 11, 3), [(3, 3, 2)], dict(dilation_rate=2)),
    ("separable_conv", (2, 9, 8, 3), [(3, 3, 3, 2), (1, 1, 6, 4)], dict(padding="same")),
    ("conv_transpose", (2, 5, 4, 3), [(3, 3, 6, 3)], dict(strides=2, padding="same")),
    ("conv_transpose", (2, 5, 4, 3), [(4, 3, 2, 3)],
     dict(strides=(2, 3), padding="valid", output_padding=(1, 0))),
    ("conv_transpose", (2, 6, 3), [(3, 4, 3)], dict(strides=2, padding="same",
                                                      output_padding=1)),
]


@pytest.mark.parametrize("case", OP_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(OP_CASES)])
def test_keras_ops_match_keras_with_gradients(keras, torch, case):
    kind, x_shape, k_shapes, kwargs = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype("float32")
    kernels = [rng.standard_normal(s).astype("float32") for s in k_shapes]
    k_out = getattr(keras.ops, kind)(x, *kernels, **kwargs)
    upstream = rng.standard_normal(tuple(k_out.shape)).astype("float32")
    tensors = [ops.convert_to_tensor(a) for a in [x] + kernels]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = getattr(ops, kind)(*tensors, **kwargs)
        loss = ops.sum(ops.multiply(out, upstream))
    grads = tape.gradient(loss, tensors)
    t_in = [torch.tensor(a, requires_grad=True) for a in [x] + kernels]
    t_out = getattr(keras.ops, kind)(*t_in, **kwargs)
    (t_out * torch.tensor(upstream)).sum().backward()
    assert_close(out, t_out.detach().numpy())
    for g, t in zip(grads, t_in):
        assert_close(g, t.grad.numpy())


# --- models --------------------------------------------------------------------------------

def small_cnn(m):
    return m.Sequential([
        m.layers.Input((12, 12, 1)),
        m.layers.Conv2D(6, 3, padding="same", activation="relu"),
        m.layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
        m.layers.SeparableConv2D(5, 3, strides=2, padding="same"),
        m.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="tanh"),
        m.layers.Conv2D(3, 1),
        m.layers.Flatten(),
        m.layers.Dense(3, activation="softmax"),
    ])


def test_model_parameter_count_and_summary_match_keras(keras, capsys):
    ours, theirs = small_cnn(__import__("turbolearn").keras), small_cnn(keras)
    assert ours.count_params() == theirs.count_params()
    for a, b in zip(ours.layers, theirs.layers):
        assert a.count_params() == b.count_params(), a.name
        assert tuple(a.output.shape) == tuple(b.output.shape), a.name
    ours.summary()
    assert f"Total params: {theirs.count_params():,}" in capsys.readouterr().out


def test_lenet5_parameter_count():
    from turbolearn import keras as tk
    model = tk.Sequential([
        tk.layers.Input((32, 32, 1)),
        tk.layers.Conv2D(6, 5, activation="tanh"), tk.layers.Lambda(lambda x: x[:, ::2, ::2]),
        tk.layers.Conv2D(16, 5, activation="tanh"), tk.layers.Lambda(lambda x: x[:, ::2, ::2]),
        tk.layers.Conv2D(120, 5, activation="tanh"), tk.layers.Flatten(),
        tk.layers.Dense(84, activation="tanh"), tk.layers.Dense(10, activation="softmax")])
    assert model.count_params() == 61_706  # LeNet-5 with subsampling as strided slices


def test_save_and_load_a_cnn(tmp_path):
    from turbolearn import keras as tk
    tk.utils.set_random_seed(0)
    model = small_cnn(tk)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((8, 12, 12, 1)).astype("float32")
    y = np.arange(8) % 3
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "cnn.keras")
    loaded = tk.models.load_model(tmp_path / "cnn.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # training continues identically from the saved optimizer state
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_cnn_learns():
    """A tiny CNN separates vertical from horizontal bars (the loss must fall well below
    chance), so gradients of every layer flow through fit."""
    from turbolearn import keras as tk
    tk.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (64, 8, 8, 1)).astype("float32")
    y = np.arange(64) % 2
    for i in range(64):
        pos = rng.integers(1, 7)
        if y[i]:
            x[i, :, pos] += 1
        else:
            x[i, pos, :] += 1
    model = tk.Sequential([tk.layers.Input((8, 8, 1)),
                           tk.layers.Conv2D(4, 3, activation="relu"),
                           tk.layers.SeparableConv2D(4, 3, activation="relu"),
                           tk.layers.Flatten(), tk.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=tk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1
    assert history.history["accuracy"][-1] == 1.0
