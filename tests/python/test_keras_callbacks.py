"""keras.callbacks: each callback driven side by side with Keras 3's on the same sequence of
logs (decisions, learning rates, files compared), and in real fits (weights recorded per
epoch with a LambdaCallback, checkpoints reloaded, training stopped on NaN)."""
import os

import numpy as np
import pytest

from turbolearn import keras

pytest.importorskip("turbolearn.keras.optimizers")
pytest.importorskip("turbolearn.keras.losses")


@pytest.fixture(scope="module")
def keras_ref():
    os.environ["KERAS_BACKEND"] = "torch"
    return pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def small_model(lr=0.05, optimizer=None):
    model = keras.Sequential([keras.layers.Input(shape=(3,)),
                              keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=optimizer or keras.optimizers.SGD(learning_rate=lr))
    # Fixed initial weights, so every run trains the same way.
    rng = np.random.default_rng(42)
    model.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype("float32") if w.ndim == 2
                       else np.zeros(w.shape, "float32") for w in model.get_weights()])
    return model


# --- driving our callbacks and Keras' on the same logs -----------------------------------------

class FakeOptimizer:
    def __init__(self, lr):
        self.learning_rate = lr


class FakeModel:
    """What the monitoring callbacks touch: weights, stop_training, optimizer, metrics."""

    def __init__(self, lr=0.1):
        self.weights = [np.zeros(2)]
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def drive(callback, values, monitor="val_loss", extra=None):
    """Runs callback through epochs with logs {monitor: value}; returns per-epoch records."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin({})
    records = []
    for epoch, value in enumerate(values):
        model.weights = [np.full(2, float(epoch))]
        callback.on_epoch_begin(epoch, {})
        logs = {monitor: value, **(extra or {})}
        callback.on_epoch_end(epoch, logs)
        records.append((model.stop_training, float(np.asarray(model.optimizer.learning_rate)),
                        dict(logs)))
        if model.stop_training:
            break
    callback.on_train_end({})
    return records, model


SEQUENCES = [
    [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    [3.0, 2.0, 1.99995, 1.9999, 1.5, 1.6, 1.7, 1.4, 1.41, 1.42, 1.43],
    list(np.random.default_rng(4).uniform(0, 1, 30)),
]


@pytest.mark.parametrize("values", SEQUENCES)
@pytest.mark.parametrize("kwargs", [
    {}, {"patience": 2}, {"patience": 2, "min_delta": 0.02}, {"patience": 3, "baseline": 0.8},
    {"patience": 1, "restore_best_weights": True}, {"patience": 2, "start_from_epoch": 3,
                                                    "restore_best_weights": True},
    {"patience": 2, "mode": "max"}, {"patience": 4, "baseline": 2.5,
                                     "restore_best_weights": True}])
def test_early_stopping_decides_as_keras(keras_ref, values, kwargs):
    ours, our_model = drive(keras.callbacks.EarlyStopping(**kwargs), values)
    ref, ref_model = drive(keras_ref.callbacks.EarlyStopping(**kwargs), values)
    assert [r[0] for r in ours] == [r[0] for r in ref]
    np.testing.assert_array_equal(our_model.weights[0], ref_model.weights[0])


@pytest.mark.parametrize("values", SEQUENCES)
@pytest.mark.parametrize("kwargs", [
    {}, {"patience": 1}, {"patience": 2, "factor": 0.5, "cooldown": 1},
    {"patience": 1, "factor": 0.2, "min_lr": 0.005}, {"patience": 2, "min_delta": 0.05},
    {"patience": 1, "mode": "max", "cooldown": 2}])
def test_reduce_lr_on_plateau_follows_keras(keras_ref, values, kwargs):
    ours, _ = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), values)
    ref, _ = drive(keras_ref.callbacks.ReduceLROnPlateau(**kwargs), values)
    np.testing.assert_allclose([r[1] for r in ours], [r[1] for r in ref], rtol=1e-6)
    np.testing.assert_allclose([r[2]["learning_rate"] for r in ours],
                               [r[2]["learning_rate"] for r in ref], rtol=1e-6)


def test_monitor_mode_auto_maximizes_accuracy_and_refuses_unknown_metrics(keras_ref):
    values = [0.5, 0.6, 0.55, 0.54, 0.53]
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2)
    model = small_model()
    x, y = regression_data()
    model.compile(loss="mse", optimizer="sgd", metrics=["accuracy"])
    model.evaluate(x, y, verbose=0)  # resolves the compiled metrics
    stop.set_model(model)
    stop.on_train_begin()
    decisions = []
    for epoch, v in enumerate(values):
        stop.on_epoch_end(epoch, {"val_accuracy": v})
        decisions.append(model.stop_training)
    # Maximized: best 0.6 at epoch 1, stopped 2 epochs later (minimized, it would be epoch 2).
    assert decisions == [False, False, False, True, True]
    assert stop.best == 0.6
    odd = keras.callbacks.EarlyStopping(monitor="val_zebra")
    odd.set_model(model)
    with pytest.raises(ValueError, match="maximized or minimized"):
        odd.on_epoch_end(0, {"val_zebra": 1.0})


@pytest.mark.parametrize("append", [False, True])
def test_csv_logger_writes_the_same_file_as_keras(keras_ref, tmp_path, append):
    logs = [{"loss": 1.5, "val_loss": 2.25, "accuracy": 0.5},
            {"loss": 1.0, "val_loss": 1.75, "accuracy": 0.625}]
    for name, module in (("ours", keras), ("ref", keras_ref)):
        path = tmp_path / f"{name}.csv"
        for run in range(2 if append else 1):
            cb = module.callbacks.CSVLogger(str(path), separator=";", append=append)
            cb.set_model(FakeModel())
            cb.on_train_begin({})
            for epoch, entry in enumerate(logs):
                cb.on_epoch_end(epoch, dict(entry))
            cb.on_train_end({})
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    lines = (tmp_path / "ours.csv").read_text().splitlines()
    assert lines[0] == "epoch;accuracy;loss;val_loss"
    assert len(lines) == (5 if append else 3)  # one header when appending


def test_csv_logger_adds_val_columns_without_validation(tmp_path):
    model = small_model()
    x, y = regression_data()
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.CSVLogger(path)])
    import csv
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "loss", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["loss"]) for r in rows], history.history["loss"])
    assert {r["val_loss"] for r in rows} == {"NA"}


# --- real fits -----------------------------------------------------------------------------------

def test_early_stopping_restores_exactly_the_best_epochs_weights():
    x, y = regression_data()
    # Validation targets are half the training targets, so val_loss first falls (the model
    # passes them on its way) and then rises as the model fits the training data.
    vx, vy = x[:32], 0.5 * y[:32]
    model = small_model(lr=0.05)
    snapshots = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=40, batch_size=16, verbose=0, shuffle=False,
                        validation_data=(vx, vy), callbacks=[record, stop])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 4 < 40  # stopped `patience` epochs after the best one
    assert stop.best_epoch == best and stop.stopped_epoch == best + 3
    for got, want in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[-1]))


def test_early_stopping_on_training_loss_never_stops_while_improving():
    x, y = regression_data()
    model = small_model(lr=0.01)
    history = model.fit(x, y, epochs=5, verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=0)])
    assert len(history.history["loss"]) == 5


def test_learning_rate_scheduler_sets_the_rate_and_logs_it():
    x, y = regression_data()
    seen = []
    model = small_model(lr=0.1)
    initial = model.get_weights()
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    spy = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
    history = model.fit(x, y, epochs=4, verbose=0, shuffle=False, callbacks=[sched, spy])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], seen, rtol=1e-6)
    # The same training, the rate set by hand between epochs: the same weights.
    manual = small_model(lr=0.1)
    manual.set_weights(initial)
    for epoch, lr in enumerate(seen):
        manual.optimizer.learning_rate = lr
        manual.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_learning_rate_scheduler_old_signature_and_bad_output():
    x, y = regression_data()
    model = small_model(lr=0.1)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 10 ** -epoch)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.001, 0.0001],
                               rtol=1e-5)
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[
            keras.callbacks.LearningRateScheduler(lambda epoch: "fast")])


def test_reduce_lr_on_plateau_in_a_fit_lowers_the_optimizers_rate():
    x, y = regression_data()
    model = small_model(lr=0.05)
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                           min_delta=10.0)  # nothing counts as improvement
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    # Epoch 0 sets the best; epochs 1, 2, 3 each wait 1 epoch and halve the rate.
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.05, 0.05, 0.025, 0.0125], rtol=1e-6)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.00625, rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        keras.callbacks.ReduceLROnPlateau(factor=1.0)


def test_lambda_callback_hooks_run_in_fit():
    x, y = regression_data(n=40)
    calls = []
    cb = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch {batch}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_begin=lambda logs: calls.append("test_begin"))  # by keyword, as Keras allows
    small_model().fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x, y),
                      callbacks=[cb])
    assert calls == ["train_begin", "epoch_begin 0", "batch 0", "batch 1", "batch 2",
                     "test_begin", "epoch_end 0 ['loss', 'val_loss']", "epoch_begin 1",
                     "batch 0", "batch 1", "batch 2", "test_begin",
                     "epoch_end 1 ['loss', 'val_loss']", "train_end"]


def test_terminate_on_nan_stops_at_the_first_nan_batch(capsys):
    x, y = regression_data(n=64)
    y = y.copy()
    y[20] = np.nan  # in the second batch of 16
    batches = []
    model = small_model()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False, callbacks=[
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1]
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1"):
        small_model().fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False,
                          callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])


def test_model_checkpoint_every_epoch_with_a_formatted_name(tmp_path):
    x, y = regression_data()
    model = small_model()
    snapshots = []
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.keras")
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, shuffle=False,
                        callbacks=[keras.callbacks.ModelCheckpoint(pattern),
                                   keras.callbacks.LambdaCallback(on_epoch_end=lambda e, l:
                                                                  snapshots.append(
                                                                      model.get_weights()))])
    names = [f"ckpt-{e + 1:02d}-{v:.3f}.keras" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    reloaded = keras.models.load_model(tmp_path / names[1])
    for got, want in zip(reloaded.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_save_best_only_weights(tmp_path):
    x, y = regression_data()
    vx, vy = x[:32], 0.5 * y[:32]  # val_loss falls, then rises
    model = small_model(lr=0.05)
    snapshots, saved = [], []
    path = str(tmp_path / "best.weights.h5")

    def spy(epoch, logs):
        snapshots.append(model.get_weights())
        saved.append(os.path.getmtime(path) if os.path.exists(path) else None)

    ckpt = keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    history = model.fit(x, y, epochs=12, batch_size=16, verbose=0, shuffle=False,
                        validation_data=(vx, vy),
                        callbacks=[ckpt, keras.callbacks.LambdaCallback(on_epoch_end=spy)])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert 0 < best < len(val) - 1  # the run has both improvements and later non-improvements
    assert ckpt.best == val[best]
    fresh = small_model()
    fresh.load_weights(path)
    for got, want in zip(fresh.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_save_freq_in_batches(tmp_path):
    x, y = regression_data(n=64)
    pattern = str(tmp_path / "b-{epoch}-{batch}.weights.h5")
    small_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(pattern, save_weights_only=True, save_freq=3)])
    # 4 batches per epoch, a save every 3 batches seen: after batches 3, 6 (epoch 2 batch 2).
    assert sorted(os.listdir(tmp_path)) == ["b-1-3.weights.h5", "b-2-2.weights.h5"]


def test_model_checkpoint_checks_its_arguments_as_keras(keras_ref, tmp_path):
    for kwargs in ({"filepath": "m.h5py"}, {"filepath": "w.h5", "save_weights_only": True},
                   {"filepath": "m.keras", "save_freq": "batch"}):
        with pytest.raises(ValueError):
            keras_ref.callbacks.ModelCheckpoint(**kwargs)
        with pytest.raises(ValueError):
            keras.callbacks.ModelCheckpoint(**kwargs)
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "{nope}.keras"))
    cb.set_model(small_model())
    with pytest.raises(KeyError, match="Failed to format"):
        cb.on_epoch_end(0, {"loss": 1.0})


def test_history_is_the_last_callback_and_sees_logged_learning_rates():
    x, y = regression_data()
    model = small_model()
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda e: 0.02)])
    assert set(history.history) == {"loss", "learning_rate"}
    assert model.history is history
