"""Model and weight files: the .keras zip (config.json, model.weights.npz, metadata.json), round
trips of Sequential, functional and subclassed models, custom objects, continued training with
the saved optimizer state, weight paths as Keras 3 writes them, and files that must be refused
(HDF5, pickles, wrong structure)."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

from turbolearn import keras

pytest.importorskip("turbolearn.keras.optimizers")


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1).astype("float32")
    return x, y


def sequential():
    return keras.Sequential([keras.layers.Input(shape=(4,)),
                             keras.layers.Dense(5, activation="relu"),
                             keras.layers.Dense(1)])


@keras.saving.register_keras_serializable(package="io_tests")
class Concat(keras.layers.Layer):
    """A registered multi-input layer (keras.layers has no Concatenate on this branch yet)."""

    def call(self, inputs):
        return keras.ops.concatenate(inputs, axis=-1)


def functional():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(2,), name="b")
    h = keras.layers.Dense(3, activation="tanh")(a)
    shared = keras.layers.Dense(3)
    merged = Concat()([shared(h), shared(shared(h)), b])
    return keras.Model(inputs=[a, b], outputs=keras.layers.Dense(2)(merged))


def assert_same_weights(m1, m2):
    w1, w2 = m1.get_weights(), m2.get_weights()
    assert len(w1) == len(w2)
    for a, b in zip(w1, w2):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


# --- the file --------------------------------------------------------------------------------

def test_keras_file_layout_and_contents(tmp_path):
    model = sequential()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
        with np.load(io.BytesIO(zf.read("model.weights.npz")), allow_pickle=False) as npz:
            keys = list(npz.files)
            arrays = {k: npz[k] for k in keys}
    assert config["class_name"] == "Sequential"
    assert config["build_config"] == {"input_shape": [None, 4]}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam"
    assert compile_config["optimizer"]["config"]["learning_rate"] == pytest.approx(1e-3)
    assert compile_config["loss"] == "mse" and compile_config["metrics"] == ["mae"]
    import turbolearn
    assert metadata["turbolearn_version"] == turbolearn.__version__ and "date_saved" in metadata
    # Model weights first, in model.weights order, under Keras 3's paths; then the optimizer's.
    assert keys[:4] == ["layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0",
                        "layers/dense_1/vars/1"]
    for key, w in zip(keys, model.weights):
        np.testing.assert_array_equal(arrays[key], np.asarray(w))
    optimizer_keys = keys[4:]
    assert optimizer_keys == [f"optimizer/vars/{i}" for i in range(len(model.optimizer.variables))]
    for key, v in zip(optimizer_keys, model.optimizer.variables):
        np.testing.assert_array_equal(arrays[key], np.asarray(v))


def architecture(k, **names):
    """Dense, BatchNormalization (non-trainable variables), Dropout, a nested Sequential."""
    return k.Sequential([k.Input(shape=(4,)), k.layers.Dense(5, **names),
                         k.layers.BatchNormalization(), k.layers.Dropout(0.2),
                         k.Sequential([k.layers.Dense(3), k.layers.Dense(3)]),
                         k.layers.Dense(1)])


def test_weight_paths_are_those_keras_writes(tmp_path):
    h5py = pytest.importorskip("h5py")
    os.environ["KERAS_BACKEND"] = "torch"
    keras_ref = pytest.importorskip("keras")
    ref = architecture(keras_ref)
    ref.save_weights(tmp_path / "ref.weights.h5")
    ref_paths = []
    with h5py.File(tmp_path / "ref.weights.h5") as f:
        f.visititems(lambda name, obj: ref_paths.append(name)
                     if isinstance(obj, h5py.Dataset) else None)
    ours = architecture(keras, name="first")
    ours.save_weights(tmp_path / "ours.weights.h5")
    with np.load(tmp_path / "ours.weights.h5", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(ref_paths)
        # and the values load across: Keras' weights into our model give Keras' predictions
        for key in npz.files:
            with h5py.File(tmp_path / "ref.weights.h5") as f:
                assert npz[key].shape == f[key].shape
    with h5py.File(tmp_path / "ref.weights.h5") as f:
        arrays = {k: np.array(f[k]) for k in ref_paths}
    from turbolearn.keras.saving import _assign_weights
    for key in arrays:  # make the moving statistics matter
        if key.startswith("layers/batch_normalization/vars/2"):
            arrays[key] = arrays[key] + 0.5
        elif key.startswith("layers/batch_normalization/vars/3"):
            arrays[key] = arrays[key] * 2.0
    _assign_weights(ours, arrays)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    ref.layers[1].moving_mean.assign(ref.layers[1].moving_mean + 0.5)
    ref.layers[1].moving_variance.assign(ref.layers[1].moving_variance * 2.0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def layers_in_attributes(k):
    """Recurrent layers (a cell in an attribute), Bidirectional (forward_layer and
    backward_layer) and a custom layer holding a layer and a list of layers."""
    class Block(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = k.layers.Dense(3)
            self.hidden = [k.layers.Dense(2), k.layers.Dense(2)]
            self.norm = k.layers.BatchNormalization()

        def call(self, x):
            x = self.first(x)
            for layer in self.hidden:
                x = layer(x)
            return self.norm(x)

    return k.Sequential([k.Input(shape=(5, 4)), k.layers.LSTM(3, return_sequences=True),
                         k.layers.Bidirectional(k.layers.GRU(2)), Block(), k.layers.Dense(1)])


def test_paths_of_layers_held_in_attributes_are_those_keras_writes(tmp_path):
    h5py = pytest.importorskip("h5py")
    os.environ["KERAS_BACKEND"] = "torch"
    keras_ref = pytest.importorskip("keras")
    ref = layers_in_attributes(keras_ref)
    ref.save_weights(tmp_path / "ref.weights.h5")
    with h5py.File(tmp_path / "ref.weights.h5") as f:
        arrays = {}
        f.visititems(lambda name, obj: arrays.__setitem__(name, np.array(obj))
                     if isinstance(obj, h5py.Dataset) else None)
    ours = layers_in_attributes(keras)
    ours.save_weights(tmp_path / "ours.weights.h5")
    with np.load(tmp_path / "ours.weights.h5", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(arrays)
    from turbolearn.keras.saving import _assign_weights
    _assign_weights(ours, arrays)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_a_model_with_batch_normalization_and_a_nested_model_round_trips(tmp_path):
    model = architecture(keras)
    model.compile(optimizer="adam", loss="mse")
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    assert not np.allclose(np.asarray(model.layers[1].moving_mean), 0)  # statistics moved
    model.save(tmp_path / "bn.keras")
    loaded = keras.models.load_model(tmp_path / "bn.keras")
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    keras.utils.set_random_seed(5)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    keras.utils.set_random_seed(5)  # the same dropout masks
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert_same_weights(model, loaded)


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_sequential_round_trip_predicts_identically(tmp_path, suffix):
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    x, y = data()
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    assert zipfile.is_zipfile(path)  # .h5 gets the same zip (documented)
    loaded = keras.models.load_model(path)
    assert type(loaded) is keras.Sequential
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    assert keras.saving.load_model is keras.models.load_model


def test_functional_round_trip_with_two_inputs_and_a_shared_layer(tmp_path):
    model = functional()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    model.fit([xa, xb], y, epochs=1, verbose=0)
    model.save(tmp_path / "f.keras")
    loaded = keras.models.load_model(tmp_path / "f.keras")
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict([xa, xb], verbose=0),
                                  model.predict([xa, xb], verbose=0))


@pytest.mark.parametrize("make, optimizer", [
    (sequential, lambda: keras.optimizers.Adam(1e-2)),
    (sequential, lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    (sequential, lambda: keras.optimizers.RMSprop(1e-3)),
])
def test_reloaded_model_continues_training_exactly(tmp_path, make, optimizer):
    x, y = data()
    model = make()
    model.compile(optimizer=optimizer(), loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 6
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    h1 = model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    h2 = loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert_same_weights(model, loaded)
    assert h1.history == h2.history
    # Without the optimizer state (a fresh Adam/momentum), the weights would differ.
    fresh = keras.models.load_model(tmp_path / "m.keras", compile=False)
    fresh.compile(optimizer=optimizer(), loss="mse")
    fresh.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert not np.array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_load_model_without_compile(tmp_path):
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled
    with pytest.raises(RuntimeError, match="compile"):
        loaded.evaluate(*data(), verbose=0)


def test_an_uncompiled_or_untrained_model_round_trips(tmp_path):
    model = sequential()
    model.save(tmp_path / "plain.keras")
    assert_same_weights(model, keras.models.load_model(tmp_path / "plain.keras"))
    model.compile(optimizer="adam", loss="mse")  # optimizer not built yet
    model.save(tmp_path / "compiled.keras")
    loaded = keras.models.load_model(tmp_path / "compiled.keras")
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, verbose=0, shuffle=False)
    assert_same_weights(model, loaded)


# --- custom objects --------------------------------------------------------------------------

class Scale(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), name="alpha")

    def call(self, x):
        return x * self.alpha * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


def test_custom_layer_and_loss_through_custom_objects(tmp_path):
    model = keras.Sequential([keras.Input(shape=(4,)), Scale(2.0), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=my_loss)
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        keras.models.load_model(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras",
                                     custom_objects={"Scale": Scale, "my_loss": my_loss})
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].factor == 2.0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    # and without compiling, the loss is not needed
    keras.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale},
                            compile=False)


@keras.saving.register_keras_serializable(package="io_tests")
class Residual(keras.Model):
    """A registered subclassed model with its own config."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.inner(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_registered_subclassed_model_round_trips_without_custom_objects(tmp_path):
    model = Residual(units=6)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    model.save(tmp_path / "r.keras")
    loaded = keras.models.load_model(tmp_path / "r.keras")
    assert isinstance(loaded, Residual) and loaded.units == 6
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert_same_weights(model, loaded)


class Unregistered(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = keras.layers.Dense(4, activation="relu")
        self.b = keras.layers.Dense(1)

    def call(self, x):
        return self.b(self.a(x))


def test_subclassed_model_weights_round_trip(tmp_path):
    x, y = data()
    model = Unregistered()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "u.weights.h5")
    other = Unregistered(name="another_name")
    other(x[:1])  # built, fresh weights
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
    other.load_weights(tmp_path / "u.weights.h5")
    assert_same_weights(model, other)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    unbuilt = Unregistered()
    with pytest.raises(ValueError, match="build the model"):
        unbuilt.load_weights(tmp_path / "u.weights.h5")


# --- weights files ---------------------------------------------------------------------------

def test_weights_load_by_structure_not_names_and_include_the_optimizer(tmp_path):
    x, y = data()
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    model.save_weights(tmp_path / "w.weights.h5")
    other = keras.Sequential([keras.Input(shape=(4,)),
                              keras.layers.Dense(5, activation="relu", name="renamed"),
                              keras.layers.Dense(1, name="out")])
    other.compile(optimizer="adam", loss="mse")
    other.fit(x, y, epochs=1, verbose=0, shuffle=False)  # builds the optimizer
    other.load_weights(tmp_path / "w.weights.h5")
    assert_same_weights(model, other)
    for a, b in zip(other.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The weights of a .keras file load the same way.
    model.save(tmp_path / "m.keras")
    third = sequential()
    third.load_weights(tmp_path / "m.keras")
    assert_same_weights(model, third)


def test_mismatched_weights_are_refused_or_skipped(tmp_path):
    model = sequential()
    model.save_weights(tmp_path / "w.weights.h5")
    wider = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6),
                              keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="shape"):
        wider.load_weights(tmp_path / "w.weights.h5")
    deeper = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5),
                               keras.layers.Dense(1), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="missing.*dense_2"):
        deeper.load_weights(tmp_path / "w.weights.h5")
    before = deeper.get_weights()
    with pytest.warns(UserWarning, match="dense_2"):
        deeper.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    after = deeper.get_weights()
    np.testing.assert_array_equal(after[0], model.get_weights()[0])
    np.testing.assert_array_equal(after[4], before[4])  # the extra layer is left alone


# --- files refused ---------------------------------------------------------------------------

def test_file_names_and_overwrite(tmp_path):
    model = sequential()
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        model.save(tmp_path / "model")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "model.h5")
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    model.save(tmp_path / "m.keras")  # overwrite=True by default
    with pytest.raises(ValueError, match="File not found"):
        keras.models.load_model(tmp_path / "missing.keras")
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temporary files left


def test_hdf5_and_foreign_files_get_a_clear_error(tmp_path):
    (tmp_path / "keras2.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(ValueError, match="HDF5"):
        keras.models.load_model(tmp_path / "keras2.h5")
    with pytest.raises(ValueError, match="HDF5"):
        sequential().load_weights(tmp_path / "keras2.h5")
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match="not a model file"):
        keras.models.load_model(tmp_path / "text.keras")


class Boom:
    ran = []

    def __reduce__(self):
        return (Boom.ran.append, ("code ran",))


def test_loading_never_unpickles(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.keras")
    # Replace a weight by an object array (a pickle) that would run code when loaded.
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(members["model.weights.npz"])) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["layers/dense/vars/1"] = np.array([Boom()] * 5, dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    members["model.weights.npz"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    with pytest.raises(ValueError, match="unpickling"):
        keras.models.load_model(tmp_path / "evil.keras")
    with open(tmp_path / "evil.weights.h5", "wb") as f:
        f.write(members["model.weights.npz"])
    with pytest.raises(ValueError, match="unpickling"):
        model.load_weights(tmp_path / "evil.weights.h5")
    assert Boom.ran == []


def test_config_with_unknown_class_names_the_missing_object(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
    config["config"]["layers"][1]["registered_name"] = "NoSuchLayer"
    config["config"]["layers"][1]["module"] = "somewhere.else"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "odd.keras", "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    with pytest.raises(ValueError, match="NoSuchLayer"):
        keras.models.load_model(tmp_path / "odd.keras")
