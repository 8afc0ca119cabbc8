"""The book's chapter-10 models: shapes and parameter counts equal Keras', training reaches the
accuracy Keras reaches, fit equals a hand-written GradientTape loop, bad input is refused."""
import os

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from turbolearn import keras

HOUSING = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "housing",
                       "housing.csv")


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(42)


def counts(model):
    total = model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return total, trainable, total - trainable


def fashion_mlp():
    return keras.Sequential([
        keras.layers.Input(shape=[28, 28]),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def test_fashion_mlp_parameters_names_and_summary(capsys):
    model = fashion_mlp()
    assert counts(model) == (266_610, 266_610, 0)
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dense_1", "dense_2"]
    assert model.get_layer("dense_1") is model.layers[2]
    assert model.output_shape == (None, 10)
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "sequential"' in text
    assert "│ dense (Dense)" in text and "(None, 300)" in text and "235,500" in text
    assert "Total params: 266,610 (1.02 MB)" in text
    assert "Non-trainable params: 0 (0.00 B)" in text
    weights, biases = model.layers[1].get_weights()
    assert weights.shape == (784, 300) and biases.shape == (300,) and not biases.any()
    assert 0 < np.abs(weights).max() <= np.sqrt(6 / (784 + 300))


def test_sequential_built_from_input_shape_on_first_layer_and_with_add():
    model = keras.Sequential()
    model.add(keras.layers.Dense(30, activation="relu", input_shape=[8]))
    model.add(keras.layers.Dense(1))
    assert model.built and counts(model) == (301, 301, 0)
    lazy = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
    assert not lazy.built
    with pytest.raises(ValueError, match="isn't built"):
        lazy.count_params()
    out = lazy(np.ones((3, 5), dtype="float32"))
    assert out.shape == (3, 2) and lazy.count_params() == 5 * 4 + 4 + 4 * 2 + 2


def test_batch_normalization_mlp_parameter_counts():
    model = keras.Sequential([
        keras.layers.Input(shape=[28, 28]),
        keras.layers.Flatten(),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(300, activation="relu", kernel_initializer="he_normal"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(100, activation="relu", kernel_initializer="he_normal"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    assert counts(model) == (271_346, 268_978, 2_368)
    assert [w.name for w in model.layers[1].weights] == ["gamma", "beta", "moving_mean",
                                                         "moving_variance"]


def test_selu_alpha_dropout_mlp_trains():
    model = keras.Sequential([keras.layers.Input(shape=[28, 28]), keras.layers.Flatten()])
    for _ in range(3):
        model.add(keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"))
    model.add(keras.layers.AlphaDropout(rate=0.1))
    model.add(keras.layers.Dense(10, activation="softmax"))
    assert counts(model)[0] == 784 * 100 + 100 + 2 * (100 * 100 + 100) + 1010
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((64, 28, 28)), rng.integers(0, 10, 64), epochs=2, verbose=0)
    assert set(history.history) == {"accuracy", "loss"} and len(history.history["loss"]) == 2


def test_wide_and_deep_with_one_input():
    normalization = keras.layers.Normalization()
    hidden1 = keras.layers.Dense(30, activation="relu")
    hidden2 = keras.layers.Dense(30, activation="relu")
    concat = keras.layers.Concatenate()
    output_layer = keras.layers.Dense(1)
    input_ = keras.layers.Input(shape=[8])
    normalized = normalization(input_)
    hidden = hidden2(hidden1(normalized))
    output = output_layer(concat([normalized, hidden]))
    model = keras.Model(inputs=[input_], outputs=[output])
    assert counts(model) == (1_256, 1_239, 17)
    rng = np.random.default_rng(0)
    X = rng.normal(3, 2, (200, 8)).astype("float32")
    y = X[:, :1] * 2 + 1
    normalization.adapt(X)
    np.testing.assert_allclose(normalization.mean.numpy().ravel(), X.mean(0), rtol=1e-5)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-2))
    history = model.fit(X, y, epochs=30, verbose=0, validation_split=0.2)
    assert history.history["val_loss"][-1] < 0.2 * history.history["val_loss"][0]
    assert model.predict(X[:3], verbose=0).shape == (3, 1)


def test_wide_and_deep_with_two_inputs_and_an_auxiliary_output():
    input_wide = keras.layers.Input(shape=[5])
    input_deep = keras.layers.Input(shape=[6])
    norm_wide, norm_deep = keras.layers.Normalization(), keras.layers.Normalization()
    hidden = keras.layers.Dense(30, activation="relu")(norm_deep(input_deep))
    hidden = keras.layers.Dense(30, activation="relu")(hidden)
    concat = keras.layers.concatenate([norm_wide(input_wide), hidden])
    output = keras.layers.Dense(1)(concat)
    aux_output = keras.layers.Dense(1)(hidden)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[output, aux_output])
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8)).astype("float32")
    y = (X[:, 0] - 2 * X[:, 5] + 0.1 * rng.normal(size=300)).astype("float32")
    X_wide, X_deep = X[:, :5], X[:, 2:]
    norm_wide.adapt(X_wide)
    norm_deep.adapt(X_deep)
    model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1),
                  optimizer=keras.optimizers.Adam(learning_rate=1e-2), metrics=["mse", "mse"])
    history = model.fit((X_wide, X_deep), (y, y), epochs=20, verbose=0,
                        validation_data=((X_wide, X_deep), (y, y)))
    names = [layer.name for layer in model.layers]
    main, aux = model.outputs[0]._keras_history[0].name, model.outputs[1]._keras_history[0].name
    assert {"loss", f"{main}_loss", f"{aux}_loss", f"val_{main}_loss"} <= set(history.history)
    assert main in names and aux in names
    results = model.evaluate((X_wide, X_deep), (y, y), verbose=0, return_dict=True)
    total = 0.9 * results[f"{main}_loss"] + 0.1 * results[f"{aux}_loss"]
    assert results["loss"] == pytest.approx(total, rel=1e-4)
    y_pred_main, y_pred_aux = model.predict((X_wide, X_deep), verbose=0)
    assert y_pred_main.shape == y_pred_aux.shape == (300, 1)
    by_name = model.predict({input_wide._keras_history[0].name: X_wide,
                             input_deep._keras_history[0].name: X_deep}, verbose=0)
    np.testing.assert_allclose(by_name[0], y_pred_main, rtol=1e-6)


def test_stacked_autoencoder_of_nested_sequential_models():
    encoder = keras.Sequential([keras.layers.Input(shape=[28, 28]), keras.layers.Flatten(),
                                keras.layers.Dense(100, activation="relu"),
                                keras.layers.Dense(30, activation="relu")])
    decoder = keras.Sequential([keras.layers.Input(shape=[30]),
                                keras.layers.Dense(100, activation="relu"),
                                keras.layers.Dense(28 * 28), keras.layers.Reshape([28, 28])])
    autoencoder = keras.Sequential([encoder, decoder])
    assert counts(autoencoder)[0] == (784 * 100 + 100 + 100 * 30 + 30) + (30 * 100 + 100 +
                                                                           100 * 784 + 784)
    assert autoencoder.output_shape == (None, 28, 28)
    autoencoder.compile(loss="mse", optimizer="nadam")
    X = np.random.default_rng(0).random((64, 28, 28)).astype("float32")
    history = autoencoder.fit(X, X, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert encoder.predict(X, verbose=0).shape == (64, 30)


class WideAndDeepModel(keras.Model):
    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = keras.layers.Dense(units, activation=activation)
        self.hidden2 = keras.layers.Dense(units, activation=activation)
        self.main_output = keras.layers.Dense(1)
        self.aux_output = keras.layers.Dense(1)

    def call(self, inputs):
        input_wide, input_deep = inputs
        hidden2 = self.hidden2(self.hidden1(input_deep))
        concat = keras.layers.concatenate([input_wide, hidden2])
        return self.main_output(concat), self.aux_output(hidden2)


def test_subclassed_model_trains_and_tracks_its_layers():
    model = WideAndDeepModel(30, activation="relu", name="my_cool_model")
    rng = np.random.default_rng(2)
    X_wide, X_deep = rng.normal(size=(100, 5)), rng.normal(size=(100, 6))
    y = X_deep[:, :1] + X_wide[:, :1]
    model.compile(loss="mse", loss_weights=[0.9, 0.1], optimizer="adam")
    history = model.fit((X_wide, X_deep), (y, y), epochs=5, verbose=0)
    assert len(model.layers) == 4 and len(model.trainable_weights) == 8
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.name == "my_cool_model"


def test_mlp_on_digits_reaches_the_accuracy_keras_reaches():
    """Issue 4: Keras 3 reaches 93.6% with SGD(0.01), batch 32, 30 epochs, a 25% test split."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype("float32")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)
    model = keras.Sequential([keras.layers.Input(shape=[64]),
                              keras.layers.Dense(300, activation="relu"),
                              keras.layers.Dense(100, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0,
                        validation_data=(X_test, y_test))
    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    assert accuracy >= 0.936
    assert accuracy == pytest.approx(history.history["val_accuracy"][-1], abs=1e-6)
    probabilities = model.predict(X_test[:5], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.skipif(not os.path.exists(HOUSING), reason="../shared/data is not present")
def test_housing_mlp_reaches_a_test_mse_below_half():
    import pandas as pd
    from sklearn.preprocessing import StandardScaler
    housing = pd.read_csv(HOUSING).dropna()
    target = housing.pop("median_house_value").to_numpy() / 100_000
    features = housing.select_dtypes("number").to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(features, target, random_state=42)
    scaler = StandardScaler().fit(X_train)
    model = keras.Sequential([keras.layers.Input(shape=X_train.shape[1:]),
                              keras.layers.Dense(50, activation="relu"),
                              keras.layers.Dense(50, activation="relu"),
                              keras.layers.Dense(50, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  metrics=["RootMeanSquaredError"])
    model.fit(scaler.transform(X_train), y_train, epochs=20, verbose=0, batch_size=64)
    mse = model.evaluate(scaler.transform(X_test), y_test, verbose=0)[0]
    assert mse < 0.5


def test_fit_equals_a_gradient_tape_loop_on_the_same_batches():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(96, 10)).astype("float32"), rng.integers(0, 3, 96)

    def build():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.layers.Input(shape=[10]),
                                  keras.layers.Dense(16, activation="tanh"),
                                  keras.layers.Dense(3, activation="softmax")])
        return model

    fitted = build()
    fitted.compile(loss="sparse_categorical_crossentropy",
                   optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    fitted.fit(X, y, batch_size=32, epochs=2, shuffle=False, verbose=0)

    manual = build()
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for _ in range(2):
        for start in range(0, 96, 32):
            with keras.GradientTape() as tape:
                y_pred = manual(X[start:start + 32], training=True)
                loss = loss_fn(y[start:start + 32], y_pred)
            grads = tape.gradient(loss, manual.trainable_variables)
            optimizer.apply_gradients(zip(grads, manual.trainable_variables))
    for a, b in zip(fitted.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_mc_dropout_is_random_in_training_mode_and_predict_is_not():
    model = keras.Sequential([keras.layers.Input(shape=[20]), keras.layers.Dropout(0.5),
                              keras.layers.Dense(5, activation="softmax")])
    X = np.ones((4, 20), dtype="float32")
    samples = np.stack([np.asarray(model(X, training=True)) for _ in range(5)])
    assert samples.std(axis=0).max() > 0
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose=0))
    np.testing.assert_allclose(np.asarray(model(X)), model.predict(X, verbose=0), rtol=1e-6)


def test_train_test_and_predict_on_batch():
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    X, y = np.ones((8, 3)), np.zeros((8, 1))
    before = model.test_on_batch(X, y)
    model.train_on_batch(X, y)
    after = model.test_on_batch(X, y, return_dict=True)
    assert len(before) == 2 and after["loss"] < before[0]
    assert model.predict_on_batch(X).shape == (8, 1)


def test_clone_model_has_the_architecture_and_fresh_weights():
    model = fashion_mlp()
    clone = keras.models.clone_model(model)
    assert clone is not model and counts(clone) == counts(model)
    assert [type(a) for a in clone.layers] == [type(b) for b in model.layers]
    assert not np.array_equal(clone.layers[1].get_weights()[0], model.layers[1].get_weights()[0])
    clone.set_weights(model.get_weights())
    X = np.random.default_rng(0).random((2, 28, 28)).astype("float32")
    np.testing.assert_allclose(clone.predict(X, verbose=0), model.predict(X, verbose=0))


def test_history_and_verbose_output(capsys):
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    X, y = np.ones((64, 3)), np.zeros((64, 1))
    history = model.fit(X, y, epochs=2, verbose=2, validation_split=0.25)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    # one line per epoch, printed once its validation metrics are known
    lines = [line for line in out.splitlines() if line.startswith("2/2 - ")]
    assert len(lines) == 2 and all("loss: " in s and "val_loss: " in s for s in lines)
    assert history.epoch == [0, 1] and history.params["epochs"] == 2
    model.fit(X, y, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert out.count("2/2 ━━━━━━━━━━━━━━━━━━━━") == 1 and "step - loss:" in out


# --- errors ---------------------------------------------------------------------------------


def test_a_built_model_refuses_the_wrong_input_shape():
    model = fashion_mlp()
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(np.ones((2, 28, 27)), verbose=0)
    functional_in = keras.Input(shape=[4])
    functional = keras.Model(functional_in, keras.layers.Dense(2)(functional_in))
    with pytest.raises(ValueError, match="expected shape=\\(None, 4\\)"):
        functional(np.ones((2, 5)))


def test_x_and_y_of_different_lengths_are_refused():
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(np.ones((10, 3)), np.ones((9, 1)), verbose=0)


def test_unknown_names_are_refused_clearly():
    with pytest.raises(ValueError, match="activation.*relux"):
        keras.layers.Dense(3, activation="relux")
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="adamm"):
        model.compile(loss="mse", optimizer="adamm")
    model.compile(loss="msee", optimizer="sgd")
    with pytest.raises(ValueError, match="msee"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_sparse_labels_out_of_range_are_refused():
    model = keras.Sequential([keras.layers.Input(shape=[3]),
                              keras.layers.Dense(4, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="label"):
        model.fit(np.ones((4, 3)), np.array([0, 1, 4, 2]), verbose=0)


def test_fit_before_compile_is_refused():
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_keras_ops_on_symbolic_tensors_explain_the_layer_form():
    a, b = keras.Input(shape=[2]), keras.Input(shape=[3])
    with pytest.raises(TypeError, match="layer form"):
        keras.ops.concatenate([a, b], axis=-1)
    merged = keras.layers.concatenate([a, b])
    assert merged.shape == (None, 5)


def test_compile_config_round_trip_and_huber_delta():
    model = keras.Sequential([keras.layers.Input(shape=[3]), keras.layers.Dense(1)])
    model.compile(loss=keras.losses.Huber(delta=2.0), optimizer=keras.optimizers.Adam(0.005),
                  metrics=["mae"])
    config = model.get_compile_config()
    clone = keras.models.clone_model(model)
    clone.compile_from_config(config)
    assert float(clone.optimizer.learning_rate) == pytest.approx(0.005)
    X, y = np.ones((4, 3)), np.full((4, 1), 10.0)
    clone.set_weights(model.get_weights())
    model.fit(X, y, verbose=0, shuffle=False)
    clone.fit(X, y, verbose=0, shuffle=False)
    assert clone.metrics_names == model.metrics_names
    for a, b in zip(model.get_weights(), clone.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert keras.losses.Huber.from_config(keras.losses.Huber(2.0).get_config()).delta == 2.0
