"""The book's convolutional models (chapters 14, 15 and 17) against Keras 3 (torch backend):
each is built with both libraries, and parameter counts (total, trainable, non-trainable, per
layer), weight names and shapes, output shapes and summary() totals must be equal (and equal
the book's numbers where it gives them); with identical weights, predictions on a small batch
agree within 1e-5 absolute (float32; ResNet-34's 36 layers within 1e-4 relative). LeNet-5
trains on scikit-learn's digits to >= 97% test accuracy, and the book's sample-image filters
give the feature maps of a NumPy reference.

ResNet-34 is counted at the book's 224 x 224 x 3 input and run forward on one 64 x 64 image
(the counts do not depend on the image size; a 224 x 224 forward costs 3.6 G multiply-adds
per image, slow on the 2-core CI machine for no extra coverage).
"""
import functools

import numpy as np
import pytest

from turbolearn import keras


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(42)


# --- the book's models, written once against the Keras API ---------------------------------

def lenet5(lib, input_shape=(28, 28, 1)):
    """LeNet-5 (chapter 14's table): 28 x 28 inputs padded to 32 x 32 by the first layer's
    'same', tanh, average pooling, C5 a 5 x 5 convolution over the whole 5 x 5 map."""
    layers = lib.layers
    return lib.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv2D(6, 5, padding="same", activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Conv2D(120, 5, activation="tanh"),
        layers.Flatten(),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax")])


def fashion_cnn(lib):
    """The book's Fashion-MNIST CNN (chapter 14), as written there (partial, 'SAME')."""
    layers = lib.layers
    default_conv2d = functools.partial(layers.Conv2D, kernel_size=3, activation="relu",
                                       padding="SAME")
    return lib.Sequential([
        default_conv2d(filters=64, kernel_size=7, input_shape=[28, 28, 1]),
        layers.MaxPooling2D(pool_size=2),
        default_conv2d(filters=128),
        default_conv2d(filters=128),
        layers.MaxPooling2D(pool_size=2),
        default_conv2d(filters=256),
        default_conv2d(filters=256),
        layers.MaxPooling2D(pool_size=2),
        layers.Flatten(),
        layers.Dense(units=128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(units=64, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(units=10, activation="softmax")])


def residual_unit_class(lib):
    """The book's ResidualUnit, a custom layer holding lists of layers."""
    default_conv2d = functools.partial(lib.layers.Conv2D, kernel_size=3, strides=1,
                                       padding="same", kernel_initializer="he_normal",
                                       use_bias=False)

    class ResidualUnit(lib.layers.Layer):
        def __init__(self, filters, strides=1, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.activation = lib.activations.get(activation)
            self.main_layers = [
                default_conv2d(filters, strides=strides),
                lib.layers.BatchNormalization(),
                self.activation,
                default_conv2d(filters),
                lib.layers.BatchNormalization()]
            self.skip_layers = []
            if strides > 1:
                self.skip_layers = [
                    default_conv2d(filters, kernel_size=1, strides=strides),
                    lib.layers.BatchNormalization()]

        def call(self, inputs):
            z = inputs
            for layer in self.main_layers:
                z = layer(z)
            skip_z = inputs
            for layer in self.skip_layers:
                skip_z = layer(skip_z)
            return self.activation(z + skip_z)

    return ResidualUnit, default_conv2d


def resnet34(lib, input_shape=(224, 224, 3)):
    residual_unit, default_conv2d = residual_unit_class(lib)
    model = lib.Sequential([
        default_conv2d(64, kernel_size=7, strides=2, input_shape=list(input_shape)),
        lib.layers.BatchNormalization(),
        lib.layers.Activation("relu"),
        lib.layers.MaxPool2D(pool_size=3, strides=2, padding="same")])
    prev_filters = 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        strides = 1 if filters == prev_filters else 2
        model.add(residual_unit(filters, strides=strides))
        prev_filters = filters
    model.add(lib.layers.GlobalAvgPool2D())
    model.add(lib.layers.Flatten())
    model.add(lib.layers.Dense(10, activation="softmax"))
    return model


def conv_autoencoder(lib):
    """Chapter 17's convolutional autoencoder: an encoder of convolutions and max pooling, a
    decoder of Conv2DTranspose ('VALID' then 'SAME', stride 2)."""
    layers = lib.layers
    encoder = lib.Sequential([
        layers.Reshape([28, 28, 1], input_shape=[28, 28]),
        layers.Conv2D(16, kernel_size=3, padding="SAME", activation="selu"),
        layers.MaxPool2D(pool_size=2),
        layers.Conv2D(32, kernel_size=3, padding="SAME", activation="selu"),
        layers.MaxPool2D(pool_size=2),
        layers.Conv2D(64, kernel_size=3, padding="SAME", activation="selu"),
        layers.MaxPool2D(pool_size=2)])
    decoder = lib.Sequential([
        layers.Conv2DTranspose(32, kernel_size=3, strides=2, padding="VALID", activation="selu",
                               input_shape=[3, 3, 64]),
        layers.Conv2DTranspose(16, kernel_size=3, strides=2, padding="SAME", activation="selu"),
        layers.Conv2DTranspose(1, kernel_size=3, strides=2, padding="SAME",
                               activation="sigmoid"),
        layers.Reshape([28, 28])])
    return lib.Sequential([encoder, decoder])


CODINGS_SIZE = 100


def dcgan_generator(lib):
    layers = lib.layers
    return lib.Sequential([
        layers.Dense(7 * 7 * 128, input_shape=[CODINGS_SIZE]),
        layers.Reshape([7, 7, 128]),
        layers.BatchNormalization(),
        layers.Conv2DTranspose(64, kernel_size=5, strides=2, padding="SAME", activation="selu"),
        layers.BatchNormalization(),
        layers.Conv2DTranspose(1, kernel_size=5, strides=2, padding="SAME", activation="tanh")])


def dcgan_discriminator(lib):
    layers = lib.layers
    return lib.Sequential([
        layers.Conv2D(64, kernel_size=5, strides=2, padding="SAME",
                      activation=layers.LeakyReLU(0.2), input_shape=[28, 28, 1]),
        layers.Dropout(0.4),
        layers.Conv2D(128, kernel_size=5, strides=2, padding="SAME",
                      activation=layers.LeakyReLU(0.2)),
        layers.Dropout(0.4),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid")])


def dcgan(lib):
    return lib.Sequential([dcgan_generator(lib), dcgan_discriminator(lib)])


def wavenet(lib):
    """Chapter 15's WaveNet-style stack: causal Conv1D layers, dilation 1, 2, 4, 8 twice."""
    model = lib.Sequential()
    model.add(lib.layers.InputLayer(input_shape=[None, 1]))
    for rate in (1, 2, 4, 8) * 2:
        model.add(lib.layers.Conv1D(filters=20, kernel_size=2, padding="causal",
                                    activation="relu", dilation_rate=rate))
    model.add(lib.layers.Conv1D(filters=10, kernel_size=1))
    return model


def conv1d_gru(lib):
    """Chapter 15: a strided Conv1D shortening the series before two GRU layers."""
    layers = lib.layers
    return lib.Sequential([
        layers.Conv1D(filters=20, kernel_size=4, strides=2, padding="valid",
                      input_shape=[None, 1]),
        layers.GRU(20, return_sequences=True),
        layers.GRU(20, return_sequences=True),
        layers.TimeDistributed(layers.Dense(10))])


# (builder, total, non-trainable, output shape, input of a small batch for the forward pass)
MODELS = {
    "lenet5": (lenet5, 61_706, 0, (None, 10), (3, 28, 28, 1)),
    "fashion_cnn": (fashion_cnn, 1_413_834, 0, (None, 10), (3, 28, 28, 1)),
    "resnet34": (resnet34, 21_306_826, 17_024, (None, 10), None),
    "conv_autoencoder": (conv_autoencoder, None, 0, (None, 28, 28), (3, 28, 28)),
    "dcgan_generator": (dcgan_generator, None, 384, (None, 28, 28, 1), (3, CODINGS_SIZE)),
    "dcgan_discriminator": (dcgan_discriminator, None, 0, (None, 1), (3, 28, 28, 1)),
    "dcgan": (dcgan, None, 384, (None, 1), (3, CODINGS_SIZE)),
    "wavenet": (wavenet, None, 0, (None, None, 10), (3, 37, 1)),
    "conv1d_gru": (conv1d_gru, 5_350, 0, (None, None, 10), (3, 21, 1)),
}


def _counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


@pytest.mark.parametrize("name", MODELS)
def test_counts_and_shapes_equal_keras(k3, name):
    make, total, non_trainable, output_shape, _ = MODELS[name]
    ours, theirs = make(keras), make(k3)
    assert _counts(ours) == _counts(theirs)
    if total is not None:
        assert ours.count_params() == total
    assert _counts(ours)[2] == non_trainable
    assert tuple(ours.output_shape) == tuple(theirs.output_shape) == output_shape
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [a.count_params() for a in ours.layers] == [b.count_params() for b in theirs.layers]
    assert ([tuple(a.output.shape) for a in ours.layers]
            == [tuple(b.output.shape) for b in theirs.layers])


def _summary_totals(model):
    lines = []
    model.summary(print_fn=lambda text, **kwargs: lines.append(text))
    text = "\n".join(lines)
    return [line.strip() for line in text.splitlines() if "params:" in line]


@pytest.mark.parametrize("name", ["lenet5", "resnet34", "dcgan"])
def test_summary_totals_equal_keras(k3, name):
    make = MODELS[name][0]
    ours, theirs = _summary_totals(make(keras)), _summary_totals(make(k3))
    assert len(ours) == 3 and ours == theirs  # total, trainable, non-trainable (and sizes)


def _same_weights(ours, theirs, rng):
    """Keras' initial weights, with BatchNormalization's statistics and scales moved away
    from 0 / 1 so inference-mode normalisation is exercised; set on both models."""
    values = []
    for w, v in zip(theirs.weights, theirs.get_weights()):
        name = w.path if hasattr(w, "path") else w.name
        if "moving_variance" in name:
            v = rng.uniform(0.5, 1.5, v.shape)
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            v = 0.1 * rng.standard_normal(v.shape)
        elif "gamma" in name:
            v = 1 + 0.1 * rng.standard_normal(v.shape)
        values.append(np.asarray(v, dtype="float32"))
    ours.set_weights(values)
    theirs.set_weights(values)


def _forward_case(name):
    if name == "resnet34":
        return (lambda lib: resnet34(lib, (64, 64, 3))), (1, 64, 64, 3), 1e-4
    make, *_, shape = MODELS[name]
    return make, shape, 0.0


@pytest.mark.parametrize("name", MODELS)
def test_predictions_equal_keras(k3, name):
    make, shape, rtol = _forward_case(name)
    ours, theirs = make(keras), make(k3)
    rng = np.random.default_rng(0)
    _same_weights(ours, theirs, rng)
    x = rng.random(shape, dtype=np.float32)
    if name in ("dcgan_generator", "dcgan"):
        x = rng.standard_normal(shape).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=rtol, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), expected, rtol=rtol,
                               atol=1e-5)


def test_wavenet_is_causal():
    """A causal stack: changing the input at step t leaves the outputs before t unchanged."""
    model = wavenet(keras)
    x = np.random.default_rng(0).random((2, 40, 1), dtype=np.float32)
    before = model.predict(x, verbose=0)
    x[:, 25] += 1.0
    after = model.predict(x, verbose=0)
    np.testing.assert_array_equal(after[:, :25], before[:, :25])
    assert np.abs(after[:, 25:] - before[:, 25:]).max() > 1e-3


def test_resnet34_trains_one_step_on_a_tiny_batch():
    """Gradients reach every weight of the custom layers (the residual sums included) and
    BatchNormalization's moving statistics move in training."""
    model = resnet34(keras, (32, 32, 3))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(0)
    x, y = rng.random((2, 32, 32, 3), dtype=np.float32), np.array([1, 7])
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = model.get_weights()
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert all(changed)


def test_gan_phases_train_only_their_part():
    """The book's train_gan: the discriminator trains on fake and real images, then the GAN
    (with the discriminator frozen) trains the generator only."""
    gan = dcgan(keras)
    generator, discriminator = gan.layers
    discriminator.compile(loss="binary_crossentropy", optimizer="rmsprop")
    discriminator.trainable = False
    gan.compile(loss="binary_crossentropy", optimizer="rmsprop")
    rng = np.random.default_rng(0)
    batch_size = 8
    real = rng.random((batch_size, 28, 28, 1), dtype=np.float32) * 2 - 1

    def snapshot(model):
        return [w.copy() for w in model.get_weights()]
    g0, d0 = snapshot(generator), snapshot(discriminator)
    noise = rng.standard_normal((batch_size, CODINGS_SIZE)).astype("float32")
    fake = np.asarray(generator(noise))
    y1 = np.array([[0.0]] * batch_size + [[1.0]] * batch_size, dtype="float32")
    discriminator.trainable = True
    discriminator.train_on_batch(np.concatenate([fake, real]), y1)
    g1, d1 = snapshot(generator), snapshot(discriminator)
    assert all(np.array_equal(a, b) for a, b in zip(g0, g1))
    assert any(not np.array_equal(a, b) for a, b in zip(d0, d1))
    discriminator.trainable = False
    gan.train_on_batch(rng.standard_normal((batch_size, CODINGS_SIZE)).astype("float32"),
                       np.ones((batch_size, 1), dtype="float32"))
    g2, d2 = snapshot(generator), snapshot(discriminator)
    assert all(np.array_equal(a, b) for a, b in zip(d1, d2))
    assert any(not np.array_equal(a, b) for a, b in zip(g1, g2))


# --- LeNet-5 on scikit-learn's digits --------------------------------------------------------

def digits_28x28():
    """sklearn's 8 x 8 digits scaled to [0, 1], each pixel repeated 3 x 3 (24 x 24) and
    zero-padded by 2 to MNIST's 28 x 28; a stratified 80 / 20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    images = np.kron(digits.images / 16.0, np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., np.newaxis].astype("float32")
    return train_test_split(images, digits.target, test_size=0.2, stratify=digits.target,
                            random_state=42)


def test_lenet5_learns_digits():
    """20 epochs of Adam reach 97.2-98.3% on the 360 test digits over seeds 0-5 and 42 (10
    epochs: 96.1-97.8%)."""
    x_train, x_test, y_train, y_test = digits_28x28()
    model = lenet5(keras)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.97


# --- the book's sample-image filters --------------------------------------------------------

def sample_images():
    """china.jpg and flower.jpg (427 x 640 x 3) scaled to [0, 1], as one float32 batch."""
    pytest.importorskip("PIL")  # load_sample_image reads the JPEGs with pillow
    from sklearn.datasets import load_sample_image
    return np.array([load_sample_image(name) for name in ("china.jpg", "flower.jpg")],
                    dtype=np.float32) / 255


def line_filters(channels):
    """The book's two 7 x 7 filters: a vertical and a horizontal white line."""
    filters = np.zeros((7, 7, channels, 2), dtype=np.float32)
    filters[:, 3, :, 0] = 1
    filters[3, :, :, 1] = 1
    return filters


def conv_same_reference(images, filters):
    """Stride-1 'same' convolution (correlation, as Keras computes it) by its definition in
    float64: the zero-padded image shifted by each tap, times that tap's channel matrix."""
    kh, kw = filters.shape[:2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(images.astype(np.float64),
                    ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    n, h, w, _ = images.shape
    out = np.zeros((n, h, w, filters.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += padded[:, i:i + h, j:j + w, :] @ filters[i, j].astype(np.float64)
    return out


def line_sums_reference(images):
    """What the two line filters compute: each output pixel sums the channels of the 7 pixels
    on a vertical (map 0) or horizontal (map 1) line through it, zeros outside the image
    (NumPy sliding windows over the zero-padded channel sums)."""
    from numpy.lib.stride_tricks import sliding_window_view
    summed = images.astype(np.float64).sum(axis=3)
    vertical = sliding_window_view(np.pad(summed, ((0, 0), (3, 3), (0, 0))), 7, axis=1)
    horizontal = sliding_window_view(np.pad(summed, ((0, 0), (0, 0), (3, 3))), 7, axis=2)
    return np.stack([vertical.sum(-1), horizontal.sum(-1)], axis=-1)


def test_sample_image_line_filters():
    images = sample_images()
    assert images.shape == (2, 427, 640, 3)
    filters = line_filters(3)
    expected = line_sums_reference(images)
    np.testing.assert_allclose(conv_same_reference(images, filters), expected, atol=1e-9)
    # feature maps reach 21 (7 white pixels x 3 channels): 1e-5 relative is float32 round-off
    ops_maps = np.asarray(keras.ops.conv(images, filters, strides=1, padding="same"))
    np.testing.assert_allclose(ops_maps, expected, rtol=1e-5, atol=1e-5)
    layer = keras.layers.Conv2D(filters=2, kernel_size=7, padding="same")
    layer.build(images.shape)
    layer.set_weights([filters, np.zeros(2, dtype=np.float32)])
    np.testing.assert_allclose(np.asarray(layer(images)), expected, rtol=1e-5, atol=1e-5)


def test_sample_image_random_filters_and_strides():
    """Filters that are not lines, so a mix-up of taps, channels or filters shows; strided
    'valid' maps are every s-th 'same' map shifted by the padding."""
    images = sample_images()[:, :120, :160]
    rng = np.random.default_rng(0)
    filters = rng.standard_normal((7, 7, 3, 4)).astype(np.float32)
    expected = conv_same_reference(images, filters)
    ours = np.asarray(keras.ops.conv(images, filters, strides=1, padding="same"))
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)
    strided = np.asarray(keras.ops.conv(images, filters, strides=2, padding="valid"))
    np.testing.assert_allclose(strided, expected[:, 3:-3:2, 3:-3:2], rtol=1e-4, atol=1e-4)
