"""keras.layers against Keras 3 (torch backend): forward values and gradients with respect to
inputs and weights (identical weights via set_weights), parameter counts, configs; layer
machinery (custom layers, nesting, sharing, trainable, names); Dropout statistics."""
import os

import numpy as np
import pytest

from turbolearn.keras import GradientTape, backend, layers, ops, random as tl_random
from turbolearn.keras import activations as tl_activations

ATOL = 1e-5


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _randomize_weights(layer, rng):
    """Random values for every weight (positive for variances) set on our layer."""
    values = []
    for w in layer.weights:
        v = rng.standard_normal(w.shape).astype("float32")
        if "variance" in w.name:
            v = np.abs(v) + 0.5
        values.append(v)
    layer.set_weights(values)
    return values


def _ours(layer, inputs, upstream, training):
    """Output, d(sum(out * upstream))/d(inputs) and /d(trainable weights) on our tape."""
    xs = [ops.convert_to_tensor(x) for x in inputs]
    with GradientTape(persistent=True) as tape:
        tape.watch(xs)
        out = layer(xs if len(xs) > 1 else xs[0], training=training)
        loss = ops.sum(ops.multiply(out, upstream))
    gx = tape.gradient(loss, xs)
    gw = tape.gradient(loss, layer.trainable_weights)
    return out.numpy(), [None if g is None else g.numpy() for g in gx], \
        [None if g is None else g.numpy() for g in gw]


def _theirs(torch, layer, inputs, upstream, training):
    xs = [torch.tensor(x, requires_grad=True) for x in inputs]
    kwargs = {"training": training} if training is not None else {}
    out = layer(xs if len(xs) > 1 else xs[0], **kwargs)
    loss = (out * torch.tensor(upstream)).sum()
    loss.backward()
    gw = [w.value.grad for w in layer.trainable_weights]
    return out.detach().numpy(), [x.grad.numpy() if x.grad is not None else None for x in xs], \
        [None if g is None else g.numpy() for g in gw]


def compare(keras, torch, make_ours, make_theirs, shapes, training=None, seed=0, atol=ATOL,
            positive=False):
    rng = _rng(seed)
    inputs = [rng.standard_normal(s).astype("float32") for s in shapes]
    if positive:
        inputs = [np.abs(x) + 0.1 for x in inputs]
    ours, theirs = make_ours(), make_theirs()
    arg = inputs if len(inputs) > 1 else inputs[0]
    ours(arg)  # build
    theirs(arg)
    assert len(ours.weights) == len(theirs.weights)
    values = _randomize_weights(ours, rng)
    if values:
        theirs.set_weights(values)
    assert ours.count_params() == theirs.count_params()
    out, gx, gw = _ours(ours, inputs, None if False else _upstream(ours, inputs, rng), training)
    upstream = _LAST_UPSTREAM[0]
    k_out, k_gx, k_gw = _theirs(torch, theirs, inputs, upstream, training)
    np.testing.assert_allclose(out, k_out, atol=atol, rtol=1e-5)
    for a, b in zip(gx, k_gx):
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-4)
    assert len(gw) == len(k_gw)
    for a, b in zip(gw, k_gw):
        np.testing.assert_allclose(a, b, atol=atol * 10, rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # moving statistics
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
    return ours, theirs


_LAST_UPSTREAM = [None]


def _upstream(layer, inputs, rng):
    out = layer(inputs if len(inputs) > 1 else inputs[0], training=False)
    _LAST_UPSTREAM[0] = rng.standard_normal(np.shape(out)).astype("float32")
    return _LAST_UPSTREAM[0]


BATCHES = [1, 3, 8]

CASES = [
    ("Flatten", {}, [(4, 5)]),
    ("Flatten", {}, [(3, 4, 2)]),
    ("Flatten", {"data_format": "channels_first"}, [(3, 4, 2)]),
    ("Reshape", {"target_shape": (2, -1)}, [(3, 4)]),
    ("Reshape", {"target_shape": (6, 2)}, [(3, 4)]),
    ("Permute", {"dims": (2, 1)}, [(3, 4)]),
    ("Permute", {"dims": (3, 1, 2)}, [(2, 3, 4)]),
    ("RepeatVector", {"n": 3}, [(4,)]),
    ("Activation", {"activation": "tanh"}, [(5,)]),
    ("Activation", {"activation": "softmax"}, [(5,)]),
    ("ReLU", {}, [(6,)]),
    ("ReLU", {"max_value": 0.8, "negative_slope": 0.1, "threshold": 0.2}, [(3, 6)]),
    ("ReLU", {"max_value": 6.0}, [(6,)]),
    ("ReLU", {"negative_slope": 0.25}, [(6,)]),
    ("ReLU", {"threshold": 0.3}, [(6,)]),
    ("LeakyReLU", {}, [(6,)]),
    ("LeakyReLU", {"negative_slope": 0.1}, [(2, 3)]),
    ("PReLU", {}, [(6,)]),
    ("PReLU", {"shared_axes": [1]}, [(3, 4)]),
    ("PReLU", {"shared_axes": [1, 2]}, [(3, 4, 2)]),
    ("ELU", {}, [(6,)]),
    ("ELU", {"alpha": 0.5}, [(6,)]),
    ("Softmax", {}, [(5,)]),
    ("Softmax", {"axis": 1}, [(4, 3)]),
    ("Softmax", {"axis": (1, 2)}, [(4, 3)]),
    ("Identity", {}, [(3, 2)]),
    ("LayerNormalization", {}, [(7,)]),
    ("LayerNormalization", {"axis": [1, 2]}, [(3, 4)]),
    ("LayerNormalization", {"center": False}, [(5,)]),
    ("LayerNormalization", {"scale": False}, [(5,)]),
    ("Dense", {"units": 4}, [(3,)]),
    ("Dense", {"units": 2, "activation": "relu"}, [(2, 5)]),
    ("Dense", {"units": 3, "use_bias": False}, [(4, 2, 5)]),
    ("Concatenate", {}, [(3,), (2,)]),
    ("Concatenate", {"axis": 1}, [(3, 2), (1, 2), (2, 2)]),
    ("Add", {}, [(4,), (4,)]),
    ("Add", {}, [(3, 4), (3, 4), (3, 4)]),
    ("Subtract", {}, [(4,), (4,)]),
    ("Multiply", {}, [(4,), (4,), (4,)]),
    ("Average", {}, [(2, 3), (2, 3)]),
    ("Maximum", {}, [(5,), (5,)]),
    ("Minimum", {}, [(5,), (5,), (5,)]),
]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name, kwargs, shapes", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_keras(keras, torch, name, kwargs, shapes, batch):
    shapes = [(batch,) + s for s in shapes]
    compare(keras, torch, lambda: getattr(layers, name)(**kwargs),
            lambda: getattr(keras.layers, name)(**kwargs), shapes)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("training", [True, False, None])
@pytest.mark.parametrize("kwargs, shape", [
    ({}, (5,)), ({"axis": 1}, (3, 4)), ({"axis": -1}, (3, 4, 2)),
    ({"momentum": 0.5, "epsilon": 0.01}, (4,)), ({"center": False}, (4,)),
    ({"scale": False}, (4,)), ({"scale": False, "center": False}, (2, 3)),
])
def test_batch_normalization_matches_keras(keras, torch, kwargs, shape, training, batch):
    compare(keras, torch, lambda: layers.BatchNormalization(**kwargs),
            lambda: keras.layers.BatchNormalization(**kwargs), [(batch,) + shape],
            training=training)


def test_batch_normalization_moving_stats_over_calls(keras, torch):
    rng = _rng(5)
    ours, theirs = layers.BatchNormalization(momentum=0.8), \
        keras.layers.BatchNormalization(momentum=0.8)
    x0 = rng.standard_normal((6, 3, 4)).astype("float32")
    ours(x0)
    theirs(x0)
    for step in range(5):
        x = (rng.standard_normal((6, 3, 4)) * (step + 1) + step).astype("float32")
        y = ours(x, training=True).numpy()
        k = keras.ops.convert_to_numpy(theirs(x, training=True))
        np.testing.assert_allclose(y, k, atol=ATOL)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, atol=ATOL, rtol=1e-5)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(ours(x).numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               atol=ATOL)
    assert [w.name for w in ours.weights] == ["gamma", "beta", "moving_mean",
                                              "moving_variance"]
    assert len(ours.trainable_weights) == 2 and len(ours.non_trainable_weights) == 2
    # a frozen BatchNormalization runs in inference mode even with training=True
    ours.trainable = False
    before = ours.moving_mean.numpy().copy()
    ours(x, training=True)
    np.testing.assert_array_equal(ours.moving_mean.numpy(), before)
    assert len(ours.trainable_weights) == 0 and len(ours.non_trainable_weights) == 4


@pytest.mark.parametrize("axis, training", [(-1, True), (1, True), (-1, False)])
def test_batch_normalization_with_a_mask_matches_keras(keras, torch, axis, training):
    """Masked moments (masked steps do not count; all are normalized), their gradients and the
    moving statistics, as Keras 3 computes them."""
    rng = _rng(6)
    x = (rng.standard_normal((4, 5, 3)) * 2 + 1).astype("float32")
    mask = rng.random((4, 5)) > 0.4
    mask[0] = False  # a fully masked sample
    upstream = rng.standard_normal(x.shape).astype("float32")
    ours, theirs = layers.BatchNormalization(axis=axis, momentum=0.7), \
        keras.layers.BatchNormalization(axis=axis, momentum=0.7)
    ours(x)
    theirs(x)
    values = _randomize_weights(ours, rng)
    theirs.set_weights(values)
    xt = ops.convert_to_tensor(x)
    with GradientTape(persistent=True) as tape:
        tape.watch(xt)
        y = ours(xt, training=training, mask=mask)
        loss = ops.sum(ops.multiply(y, upstream))
    grads = tape.gradient(loss, [xt] + ours.trainable_weights)
    tx = torch.tensor(x, requires_grad=True)
    out = theirs(tx, training=training, mask=torch.tensor(mask))
    np.testing.assert_allclose(y.numpy(), out.detach().numpy(), atol=ATOL, rtol=1e-5)
    (out * torch.tensor(upstream)).sum().backward()
    their_grads = [tx.grad] + [w.value.grad for w in theirs.trainable_weights]
    for a, b in zip(grads, their_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4, rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=1e-5)
    with pytest.raises(ValueError, match="one dimension less"):
        ours(x, training=True, mask=mask[:, :, None])


def test_normalization_gradients_finite_differences():
    """The closed-form backward against central differences in float64."""
    rng = _rng(1)
    for layer, training in ((layers.BatchNormalization(dtype="float64"), True),
                            (layers.LayerNormalization(axis=[1, 2], dtype="float64"), None),
                            # Keras' torch backend fails on a non-trailing axis: checked here
                            (layers.LayerNormalization(axis=1, epsilon=0.1, dtype="float64"),
                             None)):
        x = rng.standard_normal((4, 3, 2))
        layer(x)
        _randomize_weights(layer, rng)
        moving = [w.numpy().copy() for w in layer.non_trainable_weights]
        up = rng.standard_normal((4, 3, 2))
        xt = ops.convert_to_tensor(x)
        with GradientTape() as tape:
            tape.watch(xt)
            loss = ops.sum(ops.multiply(layer(xt, training=training), up))
        g = tape.gradient(loss, [xt] + layer.trainable_weights)

        def f(x_):
            for w, m in zip(layer.non_trainable_weights, moving):
                w.assign(m)
            return float(np.sum(layer(x_, training=training).numpy() * up))
        eps = 1e-6
        for idx in [(0, 0, 0), (3, 2, 1), (1, 1, 0)]:
            xp, xm = x.copy(), x.copy()
            xp[idx] += eps
            xm[idx] -= eps
            np.testing.assert_allclose(g[0].numpy()[idx], (f(xp) - f(xm)) / (2 * eps),
                                       rtol=1e-5, atol=1e-7)


def test_layer_normalization_inner_axis_formula():
    rng = _rng(7)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    layer = layers.LayerNormalization(axis=1, epsilon=0.1)
    layer(x)
    gamma, beta = _randomize_weights(layer, rng)
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 0.1) * gamma[:, None] + beta[:, None]
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=ATOL)


def test_activity_regularization_matches_keras(keras, torch):
    rng = _rng(2)
    x = rng.standard_normal((4, 3)).astype("float32")
    ours, theirs = layers.ActivityRegularization(l1=0.1, l2=0.2), \
        keras.layers.ActivityRegularization(l1=0.1, l2=0.2)
    np.testing.assert_array_equal(np.asarray(ours(x)), x)
    theirs(x)
    (loss,) = ours.losses
    np.testing.assert_allclose(float(loss), float(keras.ops.convert_to_numpy(theirs.losses[0])),
                               rtol=1e-5)
    ours(x)
    assert len(ours.losses) == 1  # reset at each outer call
    xt = ops.convert_to_tensor(x)
    with GradientTape() as tape:
        tape.watch(xt)
        ours(xt)
        total = ours.losses[0]
    np.testing.assert_allclose(tape.gradient(total, xt).numpy(),
                               (0.1 * np.sign(x) + 0.4 * x) / 4, rtol=1e-5)


# --- Dense ----------------------------------------------------------------------------------

DENSE_ACTIVATIONS = ["relu", "sigmoid", "softmax", "tanh", "elu", "selu", "softplus",
                     "softsign", "swish", "silu", "gelu", "exponential", "linear",
                     "relu6", "leaky_relu", "hard_sigmoid", "mish", "log_softmax", None]


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
def test_dense_every_activation_matches_keras(keras, torch, activation):
    if activation is not None and not hasattr(keras.activations, activation):
        pytest.skip(f"Keras has no {activation}")
    compare(keras, torch, lambda: layers.Dense(4, activation=activation),
            lambda: keras.layers.Dense(4, activation=activation), [(3, 2, 5)])


def test_dense_regularizers_constraints_activity(keras, torch):
    rng = _rng(3)
    x = rng.standard_normal((5, 4)).astype("float32")
    kw = dict(kernel_regularizer="l2", bias_regularizer=0.0 or "l1",
              activity_regularizer="l2", kernel_constraint="max_norm",
              bias_constraint="non_neg")
    ours, theirs = layers.Dense(3, **kw), keras.layers.Dense(3, **kw)
    ours(x)
    theirs(x)
    values = _randomize_weights(ours, rng)
    theirs.set_weights(values)
    ours(x)
    theirs(x)
    ours_losses = sorted(float(v) for v in ours.losses)
    their_losses = sorted(float(keras.ops.convert_to_numpy(v)) for v in theirs.losses)
    np.testing.assert_allclose(ours_losses, their_losses, rtol=1e-5)
    k, b = values
    expected = [0.01 * (k ** 2).sum(), 0.01 * np.abs(b).sum(),
                0.01 * ((x @ k + b) ** 2).sum() / 5]
    np.testing.assert_allclose(ours_losses, sorted(expected), rtol=1e-5)
    assert ours.kernel.constraint.get_config() == {"max_value": 2, "axis": 0}
    clone = layers.Dense.from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


def test_dense_errors():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    layer = layers.Dense(2)
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="dense"):
        layer(np.ones((1, 4), "float32"))


# --- configs, counts, shapes ----------------------------------------------------------------

CONFIG_LAYERS = [
    lambda m: m.Flatten(), lambda m: m.Reshape((2, -1)), lambda m: m.Permute((2, 1)),
    lambda m: m.RepeatVector(3), lambda m: m.Activation("relu"),
    lambda m: m.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
    lambda m: m.LeakyReLU(negative_slope=0.2),
    lambda m: m.PReLU(alpha_initializer="ones", alpha_regularizer="l2",
                      alpha_constraint="non_neg", shared_axes=[1]),
    lambda m: m.ELU(alpha=0.3), lambda m: m.Softmax(axis=1),
    lambda m: m.Dropout(0.3, noise_shape=(None, 1), seed=4), lambda m: m.AlphaDropout(0.1),
    lambda m: m.GaussianNoise(0.2, seed=1), lambda m: m.GaussianDropout(0.4),
    lambda m: m.BatchNormalization(axis=1, momentum=0.9, gamma_regularizer="l2",
                                   beta_constraint="max_norm"),
    lambda m: m.LayerNormalization(axis=[1, 2], epsilon=0.01, center=False),
    lambda m: m.ActivityRegularization(l1=0.1), lambda m: m.Identity(),
    lambda m: m.Concatenate(axis=1), lambda m: m.Add(), lambda m: m.Subtract(),
    lambda m: m.Multiply(), lambda m: m.Average(), lambda m: m.Maximum(),
    lambda m: m.Minimum(),
    lambda m: m.Dense(3, activation="tanh", kernel_initializer="he_normal",
                      kernel_regularizer="l1"),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS, ids=range(len(CONFIG_LAYERS)))
def test_get_config_round_trip_and_keys(keras, make):
    ours, theirs = make(layers), make(keras.layers)
    config = ours.get_config()
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    # Keras 3.15's Dense config has no activity_regularizer (its base Layer drops it) but a
    # quantization_config; turbolearn keeps the regularizer so it survives a round trip
    skip = {"dtype", "quantization_config", "activity_regularizer"}
    assert set(config) - skip == set(theirs.get_config()) - skip
    for key, value in theirs.get_config().items():
        if key in skip or key == "name" or isinstance(value, dict):
            continue
        mine = config[key]
        if isinstance(value, (tuple, list)) and mine is not None:
            assert list(mine) == list(value), key
        else:
            assert mine == value, key
    from turbolearn.keras.saving import deserialize_keras_object, serialize_keras_object
    again = deserialize_keras_object(serialize_keras_object(ours))
    assert type(again) is type(ours) and again.get_config() == config


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.BatchNormalization(), (None, 5)), (lambda m: m.BatchNormalization(axis=1),
                                                    (None, 3, 4)),
    (lambda m: m.LayerNormalization(axis=[1, 2]), (None, 3, 4)),
    (lambda m: m.PReLU(), (None, 3, 4)), (lambda m: m.PReLU(shared_axes=[1]), (None, 3, 4)),
    (lambda m: m.Dense(7), (None, 2, 5)),
])
def test_count_params_and_symbolic_shapes(keras, make, shape):
    ours, theirs = make(layers), make(keras.layers)
    out = ours(layers.Input(shape[1:]))
    k_out = theirs(keras.Input(shape[1:]))
    assert ours.count_params() == theirs.count_params()
    assert tuple(out.shape) == tuple(k_out.shape)


@pytest.mark.parametrize("make, shapes", [
    (lambda m: m.Flatten(), [(3, 4)]), (lambda m: m.Reshape((-1, 2)), [(3, 4)]),
    (lambda m: m.Permute((2, 1)), [(3, 4)]), (lambda m: m.RepeatVector(5), [(4,)]),
    (lambda m: m.Concatenate(axis=1), [(3, 2), (4, 2)]), (lambda m: m.Add(), [(3,), (3,)]),
    (lambda m: m.Dropout(0.5), [(3,)]), (lambda m: m.Softmax(), [(3,)]),
    (lambda m: m.Lambda(lambda t: t[:, :2]), [(5,)]),
])
def test_symbolic_output_shapes(keras, make, shapes):
    ins = [layers.Input(s) for s in shapes]
    k_ins = [keras.Input(s) for s in shapes]
    out = make(layers)(ins if len(ins) > 1 else ins[0])
    k_out = make(keras.layers)(k_ins if len(k_ins) > 1 else k_ins[0])
    assert tuple(out.shape) == tuple(k_out.shape)


def test_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="max_value"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="dims"):
        layers.Permute((1, 3))
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(-1)
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(TypeError, match="unrecognized"):
        layers.Flatten(bogus=1)
    with pytest.raises(ValueError, match="reshape_x"):
        layers.Reshape((5,), name="reshape_x")(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="Concatenate"):
        layers.Concatenate(axis=1)([np.ones((2, 3)), np.ones((3, 3))])
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(np.ones((2, 3)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([np.ones((2, 3))] * 3)
    with pytest.raises(ValueError, match="rank 2"):
        layers.RepeatVector(2)(np.ones((2, 3, 4)))
    bn = layers.BatchNormalization(name="bn_x")
    bn(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="bn_x"):
        bn(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=3)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(2, 2))(np.ones((3, 4)), training=True)


@pytest.mark.parametrize("merge", ["Add", "Average", "Maximum", "Concatenate", "concat-1"])
@pytest.mark.parametrize("masked", ["both", "first"])
def test_merge_layers_combine_masks_as_keras(keras, merge, masked):
    """Elementwise merges OR the inputs' masks (none unless all have one); Concatenate
    concatenates them (all true for an unmasked input) and takes any() over the last axis."""
    from keras.src import backend as keras_backend
    ids = np.array([[1, 2, 0, 0], [3, 0, 4, 0]]), np.array([[1, 0, 2, 0], [0, 0, 3, 3]])

    def outputs(k, get_mask):
        emb = [k.layers.Embedding(5, 3, mask_zero=True),
               k.layers.Embedding(5, 3, mask_zero=masked == "both")]
        xs = [e(i) for e, i in zip(emb, ids)]
        layer = k.layers.Concatenate(axis=1) if merge == "concat-1" else \
            getattr(k.layers, merge)()
        return get_mask(layer(xs))
    from turbolearn import keras as tl_keras
    ours = outputs(tl_keras, lambda t: getattr(t, "_keras_mask", None))
    theirs = outputs(keras, keras_backend.get_keras_mask)
    if theirs is None:
        assert ours is None
    else:
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


# --- functional merge forms, Lambda ----------------------------------------------------------

def test_functional_merge_forms():
    rng = _rng(4)
    a, b = rng.standard_normal((2, 3)).astype("float32"), rng.standard_normal((2, 3)) \
        .astype("float32")
    np.testing.assert_allclose(layers.add([a, b]).numpy(), a + b)
    np.testing.assert_allclose(layers.subtract([a, b]).numpy(), a - b)
    np.testing.assert_allclose(layers.multiply([a, b]).numpy(), a * b)
    np.testing.assert_allclose(layers.average([a, b]).numpy(), (a + b) / 2)
    np.testing.assert_allclose(layers.maximum([a, b]).numpy(), np.maximum(a, b))
    np.testing.assert_allclose(layers.minimum([a, b]).numpy(), np.minimum(a, b))
    np.testing.assert_allclose(layers.concatenate([a, b], axis=0).numpy(),
                               np.concatenate([a, b]))
    # different ranks: size-1 axes inserted after the batch axis, as Keras
    c = rng.standard_normal((2, 4, 3)).astype("float32")
    np.testing.assert_allclose(layers.Add()([a, c]).numpy(), a[:, None, :] + c)


def double_it(x, factor=2.0):
    return x * factor


def test_lambda_layer():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    layer = layers.Lambda(double_it, arguments={"factor": 3.0})
    np.testing.assert_allclose(np.asarray(layer(x)), 3 * x)
    config = layer.get_config()
    clone = layers.Lambda.from_config(config, custom_objects={"double_it": double_it})
    np.testing.assert_allclose(np.asarray(clone(x)), 3 * x)
    with pytest.raises(ValueError, match="lambda"):
        layers.Lambda.from_config(layers.Lambda(lambda t: t).get_config())
    seen = {}

    def with_training(t, training=None):
        seen["training"] = training
        return t
    layers.Lambda(with_training)(x, training=True)
    assert seen["training"] is True
    out = layers.Lambda(lambda t: ops.concatenate([t, t], axis=1),
                        output_shape=(6,))(layers.Input((3,)))
    assert out.shape == (None, 6)
    xt = ops.convert_to_tensor(x)
    with GradientTape() as tape:
        tape.watch(xt)
        y = ops.sum(layers.Lambda(ops.square)(xt))
    np.testing.assert_allclose(tape.gradient(y, xt).numpy(), 2 * x)


# --- Dropout and noise -------------------------------------------------------------------------

def test_dropout_statistics_and_training_flag():
    x = np.ones((400, 500), "float32")
    layer = layers.Dropout(0.3, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.01
    y2 = np.asarray(layer(x, training=True))
    assert not np.array_equal(y, y2)  # a fresh mask each call
    np.testing.assert_array_equal(y, np.asarray(layers.Dropout(0.3, seed=0)(x, training=True)))
    assert np.all(np.asarray(layers.Dropout(1.0)(x, training=True)) == 0)
    np.testing.assert_array_equal(np.asarray(layers.Dropout(0.0)(x, training=True)), x)
    # noise_shape shares the mask along axes of size 1
    y = np.asarray(layers.Dropout(0.5, noise_shape=(None, 1), seed=1)(x, training=True))
    assert np.all((y == 0).all(axis=1) | (y != 0).all(axis=1))
    # gradient: the same mask, scaled
    xt = ops.convert_to_tensor(np.full((50, 20), 2.0, "float32"))
    with GradientTape() as tape:
        tape.watch(xt)
        out = layers.Dropout(0.4, seed=3)(xt, training=True)
        total = ops.sum(out)
    g = tape.gradient(total, xt).numpy()
    np.testing.assert_allclose(g, (out.numpy() != 0) / 0.6, rtol=1e-6)
    # the global generator: reseeding repeats unseeded masks
    tl_random.set_seed(11)
    a = np.asarray(layers.Dropout(0.5)(x, training=True))
    tl_random.set_seed(11)
    np.testing.assert_array_equal(a, np.asarray(layers.Dropout(0.5)(x, training=True)))


def test_training_flag_propagates_to_nested_dropout():
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(8, kernel_initializer="ones")
            self.drop = layers.Dropout(0.5, seed=0)

        def call(self, inputs):
            return self.drop(self.dense(inputs))
    block = Block()
    x = np.ones((64, 4), "float32")
    assert np.all(np.asarray(block(x)) != 0)
    assert np.any(np.asarray(block(x, training=True)) == 0)


def test_noise_layers_statistics():
    x = np.full((500, 400), 2.0, "float32")
    y = np.asarray(layers.GaussianNoise(0.5, seed=0)(x, training=True))
    assert abs(y.mean() - 2) < 0.01 and abs((y - 2).std() - 0.5) < 0.01
    np.testing.assert_array_equal(np.asarray(layers.GaussianNoise(0.5)(x)), x)
    y = np.asarray(layers.GaussianDropout(0.2, seed=0)(x, training=True))
    assert abs(y.mean() - 2) < 0.01 and abs(y.std() - 2 * np.sqrt(0.25)) < 0.01
    # AlphaDropout keeps zero mean and unit variance of standard normal (SELU) inputs
    z = _rng(0).standard_normal((500, 400)).astype("float32")
    y = np.asarray(layers.AlphaDropout(0.2, seed=0)(z, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    np.testing.assert_array_equal(np.asarray(layers.AlphaDropout(0.2)(z)), z)


# --- the layer machinery ---------------------------------------------------------------------

class MyDense(layers.Layer):
    """The book's custom dense layer."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = tl_activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(name="kernel", shape=[batch_input_shape[-1], self.units],
                                      initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units,
                "activation": tl_activations.serialize(self.activation)}


def test_custom_layer_mydense():
    rng = _rng(6)
    x = rng.standard_normal((5, 3)).astype("float32")
    layer = MyDense(4, activation="relu")
    y = layer(x)
    k, b = layer.get_weights()
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ k + b, 0), atol=1e-6)
    assert layer.count_params() == 16
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    clone = MyDense.from_config(layer.get_config())
    assert clone.units == 4 and clone.activation is tl_activations.relu
    with GradientTape() as tape:
        loss = ops.sum(layer(x))
    gk, gb = tape.gradient(loss, layer.trainable_weights)
    mask = (x @ k + b) > 0
    np.testing.assert_allclose(gk.numpy(), x.T @ mask, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb.numpy(), mask.sum(0), rtol=1e-6)


def test_layers_in_lists_sharing_and_trainable():
    class Stack(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = [layers.Dense(4, activation="relu") for _ in range(2)]
            self.norm = layers.BatchNormalization()
            self.shared = layers.Dense(4)

        def call(self, inputs, training=None):
            z = inputs
            for layer in self.hidden:
                z = layer(z)
            z = self.norm(z, training=training)
            return self.shared(self.shared(z))  # one layer used twice

    stack = Stack()
    x = np.ones((3, 4), "float32")
    stack(x)
    # 2 x (16 + 4) + BN (4 gamma, 4 beta, 4 + 4 moving) + shared (16 + 4)
    assert stack.count_params() == 40 + 16 + 20
    assert len(stack.trainable_weights) == 4 + 2 + 2
    assert len(stack.non_trainable_weights) == 2
    assert len(stack.weights) == 10
    with GradientTape() as tape:
        loss = ops.sum(stack(x, training=True))
    grads = tape.gradient(loss, stack.trainable_weights)
    assert all(g is not None for g in grads)
    stack.hidden[0].trainable = False
    assert len(stack.trainable_weights) == 6 and len(stack.non_trainable_weights) == 4
    stack.trainable = False
    assert stack.trainable_weights == [] and len(stack.non_trainable_weights) == 10
    stack.trainable = True
    assert len(stack.trainable_weights) == 8
    weights = stack.get_weights()
    stack.set_weights([w + 1 for w in weights])
    np.testing.assert_allclose(stack.get_weights()[0], weights[0] + 1)
    with pytest.raises(ValueError, match="expects 10 weights"):
        stack.set_weights(weights[:-1])
    with pytest.raises(ValueError, match="shape"):
        stack.set_weights([np.zeros((2, 2))] + weights[1:])


def test_automatic_names():
    backend.clear_session()
    names = [layers.Dense(2).name, layers.Dense(2).name, layers.Dropout(0.1).name,
             layers.BatchNormalization().name, layers.Dense(2).name, layers.PReLU().name,
             layers.LeakyReLU().name]
    assert names == ["dense", "dense_1", "dropout", "batch_normalization", "dense_2",
                     "p_re_lu", "leaky_re_lu"]
    backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_count_params_unbuilt_raises():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(3).count_params()


def test_inputs_cast_to_layer_dtype():
    x = np.ones((2, 3))  # float64
    assert layers.BatchNormalization()(x).dtype == "float32"
    assert layers.LayerNormalization()(x).dtype == "float32"
