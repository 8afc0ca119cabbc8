"""The book's chapter-10 MLP classifier, on scikit-learn's digits instead of Fashion-MNIST
(no download needed): Sequential API, compile, fit with validation data and early stopping,
evaluate, predict, save and reload."""
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from turbolearn import keras

keras.utils.set_random_seed(42)
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype("float32")  # pixel intensities scaled to [0, 1]
X_train_full, X_test, y_train_full, y_test = train_test_split(X, y, test_size=0.25,
                                                              random_state=42)
X_train, X_valid = X_train_full[:-200], X_train_full[-200:]
y_train, y_valid = y_train_full[:-200], y_train_full[-200:]

model = keras.Sequential([
    keras.layers.Input(shape=[64]),
    keras.layers.Dense(300, activation="relu"),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
              metrics=["accuracy"])
early_stopping = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
history = model.fit(X_train, y_train, epochs=30, validation_data=(X_valid, y_valid),
                    callbacks=[early_stopping], verbose=2)

test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy:.3f} after {len(history.epoch)} epochs")
y_proba = model.predict(X_test[:3], verbose=0)
print("predicted classes:", y_proba.argmax(axis=-1), "true:", y_test[:3])

path = os.path.join(tempfile.mkdtemp(), "digits_mlp.keras")
model.save(path)
reloaded = keras.models.load_model(path)
assert np.allclose(reloaded.predict(X_test, verbose=0), model.predict(X_test, verbose=0))
print("reloaded model predicts identically:", path)
