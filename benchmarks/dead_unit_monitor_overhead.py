"""Overhead of `DeadUnitMonitor` as a share of a training epoch.

Model: the demo's data (scikit-learn's bundled 8x8 digits, 1797x64) and a
Dense 128/64/10 ReLU MLP, batch 32, probe of 256 samples. Runs of
`fit(epochs=5)` with and without the callback are interleaved, 7 times, and
the medians compared; `measure()` alone is also timed against the epoch.

    KERAS_BACKEND=tensorflow python -m benchmarks.dead_unit_monitor_overhead
"""

import platform
import statistics
import time

import keras
from sklearn.datasets import load_digits

from keras_leaky.callbacks import DeadUnitMonitor

EPOCHS = 5
REPEATS = 7


def seconds_per_epoch(model, x, y, callbacks):
    start = time.perf_counter()
    model.fit(x, y, epochs=EPOCHS, batch_size=32, verbose=0, callbacks=callbacks)
    return (time.perf_counter() - start) / EPOCHS


def main():
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    monitor = DeadUnitMonitor(x[:256])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])  # Warm up both paths.
    base, monitored, measure = [], [], []
    for _ in range(REPEATS):
        base.append(seconds_per_epoch(model, x, y, []))
        monitored.append(seconds_per_epoch(model, x, y, [monitor]))
        for _ in range(5):
            start = time.perf_counter()
            monitor.measure()
            measure.append(time.perf_counter() - start)
    b, w, m = map(statistics.median, (base, monitored, measure))
    print(
        f"{keras.backend.backend()} on {platform.processor() or platform.machine()}: "
        f"epoch {b * 1e3:.1f} ms, with monitor {w * 1e3:.1f} ms ({(w / b - 1) * 100:+.1f}%), "
        f"measure() alone {m * 1e3:.2f} ms = {m / b * 100:.1f}% of an epoch"
    )


if __name__ == "__main__":
    main()
