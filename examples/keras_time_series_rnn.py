"""The book's chapter-15 forecasting task: series made of two sines and noise
(generate_time_series), the naive last-value forecast as the baseline to beat, a small deep
LSTM trained to predict the next value, then the next 10 values predicted one step at a
time by feeding its own predictions back in. (A reduced data set keeps it quick.)"""
import numpy as np

from turbolearn import keras


def generate_time_series(batch_size, n_steps, rng):
    freq1, freq2, offsets1, offsets2 = rng.random((4, batch_size, 1))
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))  # wave 1
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))  # + wave 2
    series += 0.1 * (rng.random((batch_size, n_steps)) - 0.5)  # + noise
    return series[..., np.newaxis].astype(np.float32)


keras.utils.set_random_seed(42)
n_steps = 50
series = generate_time_series(2500, n_steps + 1, np.random.default_rng(42))
X_train, y_train = series[:1500, :n_steps], series[:1500, -1]
X_valid, y_valid = series[1500:2000, :n_steps], series[1500:2000, -1]
X_test, y_test = series[2000:, :n_steps], series[2000:, -1]

naive_mse = np.mean((X_valid[:, -1] - y_valid) ** 2)
print(f"naive forecast (last value), validation MSE: {naive_mse:.4f}")

model = keras.Sequential([
    keras.layers.LSTM(20, return_sequences=True, input_shape=[None, 1]),
    keras.layers.LSTM(20),
    keras.layers.Dense(1),
])
model.summary()
model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.01))
history = model.fit(X_train, y_train, epochs=4, validation_data=(X_valid, y_valid),
                    verbose=2)
print(f"deep LSTM, validation MSE: {history.history['val_loss'][-1]:.4f}, "
      f"test MSE: {model.evaluate(X_test, y_test, verbose=0):.4f}")

# 10 steps ahead: predict, append the prediction, predict again (variable-length input)
ahead = generate_time_series(1, n_steps + 10, np.random.default_rng(0))
X = ahead[:, :n_steps]
for _ in range(10):
    X = np.concatenate([X, model.predict(X, verbose=0)[:, np.newaxis, :]], axis=1)
print("next 10 values, predicted:", np.round(X[0, n_steps:, 0], 3))
print("next 10 values, actual:   ", np.round(ahead[0, n_steps:, 0], 3))
