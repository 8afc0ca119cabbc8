"""The pooling layers (keras/layers/pooling.py), the spatial reshaping layers (UpSampling,
ZeroPadding, Cropping), keras.ops.max_pool / average_pool and BatchNormalization over feature
maps, against Keras 3 on PyTorch: forward values and input gradients (of sum(out * upstream)
for a random upstream) within 1e-5, max-pooling ties, configs and their round trips, output
shapes (symbolic and compute_output_shape) and errors.

Keras 3 on PyTorch pads an asymmetric 'same' pooling by replicating the edge, which changes
averages whose window holds more than the edge element and the padding; those cases are
checked against TensorFlow's definition (a window averages its valid elements) in NumPy
instead. Everything else is compared with Keras directly.
"""
import os

import numpy as np
import pytest

from turbolearn.keras import GradientTape, Sequential, layers, ops

ATOL = 1e-5


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def ours_with_grad(fn, x, upstream):
    """fn(x) and d(sum(fn(x) * upstream))/dx on our tape."""
    t = ops.convert_to_tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        out = fn(t)
        loss = ops.sum(ops.multiply(out, upstream))
    return out.numpy(), tape.gradient(loss, t).numpy()


def theirs_with_grad(torch, fn, x, upstream):
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    (out * torch.tensor(upstream)).sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def compare_fn(torch, ours, theirs, x, seed=1):
    upstream = np.random.default_rng(seed).standard_normal(
        np.shape(ours(ops.convert_to_tensor(x)))).astype(x.dtype)
    out, gx = ours_with_grad(ours, x, upstream)
    k_out, k_gx = theirs_with_grad(torch, theirs, x, upstream)
    assert out.shape == k_out.shape and out.dtype == k_out.dtype
    np.testing.assert_allclose(out, k_out, atol=ATOL, rtol=1e-5)
    np.testing.assert_allclose(gx, k_gx, atol=ATOL, rtol=1e-5)
    return out, gx


CASES = [
    ("MaxPooling2D", {}, (6, 6, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 8, 5)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": (1, 2)}, (5, 8, 17)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": 1, "padding": "same"}, (4, 5, 9)),
    ("MaxPooling2D", {"pool_size": 4, "padding": "same"}, (3, 3, 2)),  # window > input
    ("MaxPooling2D", {"data_format": "channels_first"}, (3, 6, 5)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same",
                      "data_format": "channels_first"}, (4, 7, 6)),
    ("MaxPool2D", {"strides": 1}, (4, 4, 3)),
    ("AveragePooling2D", {"pool_size": 2}, (6, 6, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (5, 6, 4)),
    ("AveragePooling2D", {"pool_size": 2, "padding": "same"}, (5, 7, 3)),  # pads (0, 1)
    ("AveragePooling2D", {"pool_size": (2, 3), "strides": (1, 2)}, (5, 8, 17)),
    ("AveragePooling2D", {"pool_size": (2, 2), "data_format": "channels_first"}, (3, 6, 5)),
    ("AvgPool2D", {"pool_size": 3, "strides": 3, "padding": "same"}, (3, 3, 2)),
    ("MaxPooling1D", {}, (8, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (10, 4)),
    ("MaxPooling1D", {"data_format": "channels_first"}, (3, 8)),
    ("MaxPool1D", {"pool_size": 4, "strides": 1}, (7, 5)),
    ("AveragePooling1D", {"pool_size": 2}, (8, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (9, 4)),
    ("AveragePooling1D", {"pool_size": 2, "data_format": "channels_first", "strides": 1}, (3, 8)),
    ("AvgPool1D", {"pool_size": 2, "padding": "same"}, (7, 19)),
    ("GlobalMaxPooling2D", {}, (5, 6, 3)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (5, 6, 3)),
    ("GlobalMaxPooling2D", {"data_format": "channels_first"}, (3, 5, 6)),
    ("GlobalMaxPool2D", {"data_format": "channels_first", "keepdims": True}, (3, 5, 6)),
    ("GlobalAveragePooling2D", {}, (7, 7, 17)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (4, 6, 3)),
    ("GlobalAvgPool2D", {"data_format": "channels_first"}, (3, 4, 6)),
    ("GlobalMaxPooling1D", {}, (9, 4)),
    ("GlobalMaxPool1D", {"data_format": "channels_first", "keepdims": True}, (4, 9)),
    ("GlobalAveragePooling1D", {}, (9, 4)),
    ("GlobalAvgPool1D", {"keepdims": True}, (9, 4)),
    ("GlobalAveragePooling1D", {"data_format": "channels_first"}, (4, 9)),
    ("UpSampling2D", {}, (3, 4, 2)),
    ("UpSampling2D", {"size": (3, 2)}, (3, 4, 2)),
    ("UpSampling2D", {"data_format": "channels_first", "size": (1, 3)}, (2, 3, 4)),
    ("UpSampling2D", {"interpolation": "bilinear"}, (3, 4, 5)),
    ("UpSampling2D", {"interpolation": "Bilinear", "size": (3, 2)}, (5, 1, 2)),
    ("UpSampling2D", {"interpolation": "bilinear", "size": (2, 3),
                      "data_format": "channels_first"}, (2, 4, 3)),
    ("UpSampling1D", {}, (4, 3)),
    ("UpSampling1D", {"size": 3}, (5, 2)),
    ("ZeroPadding2D", {}, (3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (3, 4, 2)),
    ("ZeroPadding2D", {"padding": (2, 1), "data_format": "channels_first"}, (2, 3, 4)),
    ("ZeroPadding1D", {}, (4, 3)),
    ("ZeroPadding1D", {"padding": (2, 0)}, (4, 3)),
    ("ZeroPadding1D", {"padding": 1, "data_format": "channels_first"}, (3, 4)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (4, 5, 2)),
    ("Cropping2D", {"cropping": 1}, (4, 5, 2)),
    ("Cropping2D", {"cropping": (1, 2), "data_format": "channels_first"}, (2, 4, 6)),
    ("Cropping1D", {}, (5, 3)),
    ("Cropping1D", {"cropping": (0, 2)}, (5, 3)),
]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_keras(keras, torch, name, kwargs, shape, batch):
    x = np.random.default_rng(0).standard_normal((batch,) + shape).astype("float32")
    ours, theirs = getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    compare_fn(torch, ours, theirs, x)
    assert tuple(ours.compute_output_shape((batch,) + shape)) == \
        tuple(theirs.compute_output_shape((batch,) + shape))


def tf_average_pool(x, pool, strides, paddings):
    """TensorFlow's average pooling of NHWC x: each window's mean over its valid elements."""
    (top, bottom), (left, right) = paddings
    n, h, w, c = x.shape
    oh = (h + top + bottom - pool[0]) // strides[0] + 1
    ow = (w + left + right - pool[1]) // strides[1] + 1
    out = np.empty((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - top, j * strides[1] - left
            window = x[:, max(r0, 0):r0 + pool[0], max(c0, 0):c0 + pool[1]]
            out[:, i, j] = window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("pool, strides, shape, paddings", [
    ((3, 3), (2, 2), (4, 4), ((0, 1), (0, 1))),
    ((4, 1), (1, 1), (6, 3), ((1, 2), (0, 0))),
    ((2, 3), (1, 1), (3, 5), ((0, 1), (1, 1))),
])
def test_asymmetric_same_average_follows_tensorflow(pool, strides, shape, paddings):
    x = np.random.default_rng(2).standard_normal((2, *shape, 3)).astype("float32")
    layer = layers.AveragePooling2D(pool, strides, padding="same")
    expected = tf_average_pool(x.astype(np.float64), pool, strides, paddings)
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-6)
    # The gradient of sum(out * u) is each window's u over its count, summed per element.
    u = np.random.default_rng(3).standard_normal(expected.shape).astype("float32")
    _, gx = ours_with_grad(layer, x, u)
    eps = 1e-3
    probe = np.zeros_like(x, dtype=np.float64)
    for index in [(0, 0, 0, 0), (1, shape[0] - 1, shape[1] - 1, 2), (0, shape[0] // 2, 1, 1)]:
        probe[...] = 0
        probe[index] = eps
        numeric = ((tf_average_pool(x + probe, pool, strides, paddings) -
                    tf_average_pool(x - probe, pool, strides, paddings)) * u).sum() / (2 * eps)
        np.testing.assert_allclose(gx[index], numeric, atol=1e-4)


@pytest.mark.parametrize("pool, strides", [((2, 2), None), ((3, 3), (1, 1)), ((2, 3), (1, 2))])
def test_max_pooling_ties_match_keras(keras, torch, pool, strides):
    # Integer values with many repeats (ties in most windows, overlapping or not), distinct
    # values elsewhere: the first maximum of each window takes the gradient, as in Keras.
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, (2, 6, 7, 3)).astype("float32")
    x[0, 0, :, 0] = np.arange(7) * 10.0
    compare_fn(torch, layers.MaxPooling2D(pool, strides),
               keras.layers.MaxPooling2D(pool, strides), x)
    compare_fn(torch, layers.GlobalMaxPooling2D(), keras.layers.GlobalMaxPooling2D(), x)


def test_padding_in_any_case_is_same_padding(keras, torch):
    # Keras keeps the argument as given; its torch backend pools 'SAME' as 'valid' eagerly
    # and refuses it symbolically. Here every case means 'same'.
    x = np.random.default_rng(5).standard_normal((2, 5, 7, 3)).astype("float32")
    for mode in ("MaxPooling2D", "AveragePooling2D"):
        reference = getattr(keras.layers, mode)(3, 2, padding="same")
        for padding in ("SAME", "Same"):
            layer = getattr(layers, mode)(3, 2, padding=padding)
            assert layer.get_config()["padding"] == padding
            compare_fn(torch, layer, reference, x)
            assert layer(layers.Input((5, 7, 3))).shape == (None, 3, 4, 3)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape, pool, strides, padding", [
    ((2, 7, 6, 5), (3, 2), (2, 1), "valid"), ((1, 6, 6, 3), 2, None, "same"),
    ((3, 9, 9), 3, 2, "same"), ((2, 8, 17), (2,), (1,), "valid"),
])
def test_ops_max_pool_and_average_pool_match_keras(keras, torch, data_format, shape, pool,
                                                     strides, padding):
    x = np.random.default_rng(6).standard_normal(shape).astype("float32")
    for name in ("max_pool", "average_pool"):
        compare_fn(torch,
                   lambda t: getattr(ops, name)(t, pool, strides, padding, data_format),
                   lambda t: getattr(keras.ops, name)(t, pool, strides, padding, data_format),
                   x)


def test_each_pooling_layer_is_one_recorded_op():
    # One Node whose parent is the input, whatever the rank and data format.
    for layer, shape in [(layers.MaxPooling2D(data_format="channels_first"), (2, 3, 4, 4)),
                         (layers.AveragePooling1D(2), (2, 6, 3)),
                         (layers.GlobalMaxPooling2D(), (2, 4, 4, 3)),
                         (layers.GlobalAveragePooling1D(data_format="channels_first"), (2, 3, 5)),
                         (layers.UpSampling2D(interpolation="bilinear"), (2, 3, 3, 2)),
                         (layers.ZeroPadding2D(), (2, 3, 3, 2)), (layers.Cropping1D(), (2, 5, 2))]:
        x = ops.convert_to_tensor(np.ones(shape, "float32"))
        with GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
        assert out._node is not None and out._node.parents == (x,), type(layer).__name__
    out = ops.max_pool(np.ones((1, 4, 4, 1), "float32"), 2)
    assert out.shape == (1, 2, 2, 1) and out._node is None  # nothing watched: no graph


def test_global_average_pooling_1d_with_a_mask(keras, torch):
    x = np.random.default_rng(7).standard_normal((3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 0, 0]], bool)
    for keepdims in (False, True):
        ours = layers.GlobalAveragePooling1D(keepdims=keepdims)
        theirs = keras.layers.GlobalAveragePooling1D(keepdims=keepdims)
        compare_fn(torch, lambda t: ours(t, mask=mask),
                   lambda t: theirs(t, mask=torch.tensor(mask)), x)


def test_float64_inputs_are_cast_to_the_layer_dtype(keras):
    x = np.random.default_rng(8).standard_normal((2, 4, 4, 3))
    for name in ("MaxPooling2D", "GlobalAveragePooling2D", "UpSampling2D", "ZeroPadding2D"):
        out = getattr(layers, name)()(x)
        assert out.dtype == "float32"
        np.testing.assert_allclose(out.numpy(), keras.ops.convert_to_numpy(
            getattr(keras.layers, name)()(x)), atol=ATOL)
    # keras.ops keep the input's dtype
    assert ops.max_pool(x, 2).dtype == "float64"


CONFIG_LAYERS = [
    lambda m: m.MaxPooling2D(), lambda m: m.MaxPooling2D(3, 2, "same", "channels_first"),
    lambda m: m.AveragePooling2D((2, 3), strides=1, padding="SAME"),
    lambda m: m.MaxPooling1D(), lambda m: m.AveragePooling1D(3, 2, "same"),
    lambda m: m.GlobalAveragePooling2D(), lambda m: m.GlobalMaxPooling2D(keepdims=True),
    lambda m: m.GlobalAveragePooling1D(data_format="channels_first"),
    lambda m: m.GlobalMaxPooling1D(),
    lambda m: m.UpSampling2D((2, 3), interpolation="bilinear"), lambda m: m.UpSampling1D(3),
    lambda m: m.ZeroPadding2D(((1, 2), (3, 4))), lambda m: m.ZeroPadding2D(2),
    lambda m: m.ZeroPadding1D((1, 2)), lambda m: m.Cropping2D((1, 2)),
    lambda m: m.Cropping1D(2),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS, ids=range(len(CONFIG_LAYERS)))
def test_get_config_round_trip_and_keys(keras, make):
    ours, theirs = make(layers), make(keras.layers)
    config = ours.get_config()
    assert type(ours).from_config(config).get_config() == config
    k_config = theirs.get_config()
    assert set(config) == set(k_config)
    for key, value in k_config.items():
        if key not in ("name", "dtype"):
            assert config[key] == value, key
    from turbolearn.keras.saving import deserialize_keras_object, serialize_keras_object
    again = deserialize_keras_object(serialize_keras_object(ours))
    assert type(again) is type(ours) and again.get_config() == config


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.MaxPooling2D(), (28, 28, 6)), (lambda m: m.MaxPooling2D(3, 2), (None, None, 4)),
    (lambda m: m.AveragePooling2D(3, 2, "same"), (None, 9, 4)),
    (lambda m: m.MaxPooling2D(data_format="channels_first"), (4, 9, 7)),
    (lambda m: m.MaxPooling1D(3, 1), (None, 4)), (lambda m: m.AveragePooling1D(2), (11, 4)),
    (lambda m: m.GlobalMaxPooling2D(keepdims=True), (None, None, 5)),
    (lambda m: m.GlobalAveragePooling2D(data_format="channels_first"), (5, 3, 3)),
    (lambda m: m.GlobalAveragePooling1D(keepdims=True), (None, 6)),
    (lambda m: m.UpSampling2D((2, 3)), (None, 4, 2)), (lambda m: m.UpSampling1D(4), (5, 2)),
    (lambda m: m.ZeroPadding2D(((1, 2), (3, 4))), (None, 4, 2)),
    (lambda m: m.ZeroPadding1D(3, data_format="channels_first"), (2, 5)),
    (lambda m: m.Cropping2D(((1, 2), (0, 1)), "channels_first"), (3, 5, 4)),
    (lambda m: m.Cropping1D((1, 2)), (None, 2)),
])
def test_symbolic_output_shapes(keras, make, shape):
    assert make(layers)(layers.Input(shape)).shape == tuple(make(keras.layers)(keras.Input(shape)).shape)


def test_book_style_model_shapes_and_parameters(keras):
    def build(m):
        return [m.Input((28, 28, 1)), m.ZeroPadding2D(2), m.MaxPooling2D(), m.AveragePooling2D(
            2, padding="same"), m.UpSampling2D(), m.Cropping2D(1), m.GlobalAveragePooling2D()]
    ours, theirs = Sequential(build(layers)), keras.Sequential(build(keras.layers))
    for a, b in zip(ours.layers, theirs.layers):
        assert a.output.shape == tuple(b.output.shape)
    assert ours.count_params() == theirs.count_params() == 0
    x = np.random.default_rng(9).standard_normal((2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(ours(x).numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=ATOL)


def raises_like_keras(make, call=None, error=ValueError, match=None):
    """Our layer and Keras' raise the same error type (building, or calling on `call`)."""
    import keras
    for module in (layers, keras.layers):
        with pytest.raises(error, match=match if module is layers else None):
            layer = make(module)
            if call is not None:
                layer(call(module))


def test_errors_as_keras_raises_them(keras):
    with_input = lambda shape: lambda m: (layers.Input if m is layers else keras.Input)(shape)  # noqa: E731
    raises_like_keras(lambda m: m.MaxPooling2D(), with_input((4, 4)), match="expected ndim=4, found ndim=3")
    raises_like_keras(lambda m: m.GlobalAveragePooling1D(), with_input((4, 4, 2)), match="expected ndim=3")
    raises_like_keras(lambda m: m.MaxPooling2D(5), with_input((4, 4, 1)), match="zero or negative")
    raises_like_keras(lambda m: m.MaxPooling2D(pool_size=0), match="pool_size.*value > 0")
    raises_like_keras(lambda m: m.AveragePooling1D(2, strides=(1, 2)), match="strides.*tuple of 1")
    raises_like_keras(lambda m: m.MaxPooling2D(data_format="nchw"), match="data_format")
    raises_like_keras(lambda m: m.MaxPooling2D(padding="full"), with_input((4, 4, 1)),
                      match="must be either 'valid' or 'same'")
    raises_like_keras(lambda m: m.Cropping2D(2), with_input((4, 5, 1)), match="smaller than")
    raises_like_keras(lambda m: m.Cropping2D(-1), match="cannot be negative")
    raises_like_keras(lambda m: m.Cropping2D((1, 2, 3)), match="two elements")
    raises_like_keras(lambda m: m.Cropping1D((3, 2)), with_input((5, 2)), match="smaller than")
    raises_like_keras(lambda m: m.ZeroPadding2D(((1, 2, 3), 1)), match="1st entry of padding")
    raises_like_keras(lambda m: m.ZeroPadding2D(1.5), match="should be either an int")
    raises_like_keras(lambda m: m.UpSampling2D(size=(2, 0)), match="size")
    raises_like_keras(lambda m: m.UpSampling1D(size=1.5), error=TypeError, match="integer")
    raises_like_keras(lambda m: m.UpSampling1D(size=0), match="positive integer")
    # Keras' torch backend also offers 'bicubic'; turbolearn has nearest and bilinear
    with pytest.raises(ValueError, match="'nearest' or 'bilinear'"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="ndim=3 or 4"):
        ops.max_pool(np.zeros((1, 2, 2, 2, 1), "float32"), 2)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        ops.average_pool(np.zeros((1, 4, 4, 1), "float32"), 2, padding="causal")


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("axis, shape", [(-1, (5, 6, 7)), (1, (3, 5, 4)), (3, (4, 4, 8))])
def test_batch_normalization_over_feature_maps_matches_keras(keras, torch, axis, shape,
                                                             training, batch):
    # Values, gradients for the input and for gamma / beta, and the moving statistics after
    # two training steps, for (batch, h, w, c) maps (axis -1 / 3, the default) and channels
    # first (axis 1).
    rng = np.random.default_rng(10)
    ours, theirs = layers.BatchNormalization(axis=axis, momentum=0.9), \
        keras.layers.BatchNormalization(axis=axis, momentum=0.9)
    x = (rng.standard_normal((batch,) + shape) * 3 + 1).astype("float32")
    ours(x)
    theirs(x)
    values = [rng.standard_normal(w.shape).astype("float32") for w in ours.weights]
    values[3] = np.abs(values[3]) + 0.5
    ours.set_weights(values)
    theirs.set_weights(values)
    upstream = rng.standard_normal(x.shape).astype("float32")
    for _ in range(2):
        t = ops.convert_to_tensor(x)
        with GradientTape(persistent=True) as tape:
            tape.watch(t)
            loss = ops.sum(ops.multiply(ours(t, training=training), upstream))
        gx, (g_gamma, g_beta) = tape.gradient(loss, t), tape.gradient(loss, ours.trainable_weights)
        k_t = torch.tensor(x, requires_grad=True)
        k_loss = (theirs(k_t, training=training) * torch.tensor(upstream)).sum()
        k_loss.backward()
        np.testing.assert_allclose(loss.numpy(), k_loss.detach().numpy(), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(gx.numpy(), k_t.grad.numpy(), atol=ATOL, rtol=1e-4)
        np.testing.assert_allclose(g_gamma.numpy(), theirs.gamma.value.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
        np.testing.assert_allclose(g_beta.numpy(), theirs.beta.value.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
        for w in theirs.trainable_weights:
            w.value.grad = None
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, atol=ATOL, rtol=1e-5)
        x = (x * 0.5 - 1).astype("float32")


def test_model_with_pooling_layers_saves_trains_and_loads(tmp_path):
    # A small convolution-free image model: every layer here in one file round trip, with a
    # fit step through all their backward passes.
    from turbolearn.keras import models
    model = Sequential([
        layers.Input((12, 12, 2)), layers.ZeroPadding2D(1), layers.MaxPooling2D(padding="Same"),
        layers.UpSampling2D(interpolation="bilinear"), layers.Cropping2D(((1, 0), (0, 1))),
        layers.AveragePooling2D(3, 2, "same"), layers.BatchNormalization(),
        layers.Reshape((-1, 2)), layers.MaxPooling1D(2), layers.UpSampling1D(2),
        layers.GlobalAveragePooling1D(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((16, 12, 12, 2)).astype("float32"), rng.integers(0, 3, 16)
    gamma = model.layers[5].gamma.numpy().copy()
    model.fit(x, y, epochs=2, verbose=0)
    after = model.predict(x, verbose=0)
    # BatchNormalization's gamma learned through the 1-D pooling and upsampling layers
    assert not np.allclose(model.layers[5].gamma.numpy(), gamma)
    path = tmp_path / "pooling.keras"
    model.save(path)
    again = models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), after, rtol=1e-6, atol=1e-7)
    assert [type(a).__name__ for a in again.layers] == [type(a).__name__ for a in model.layers]
