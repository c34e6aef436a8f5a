"""The README's demo: train by activation name, save, reload, compare.

Run it with `python -m keras_leaky demo`. It trains one small MLP per name
on scikit-learn's bundled 8x8 digits (no download), saves each model to a
`.keras` file, reloads it with `keras.saving.load_model` (safe mode, no
`custom_objects`) and checks that the reloaded model predicts the same.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import keras
import numpy as np

import keras_leaky  # noqa: F401 - registers the activation names.
from keras_leaky.callbacks import DeadUnitMonitor

NAMES = ("relu", "leaky_relu", "prelu", "rrelu")


def _load_digits(seed: int) -> tuple[np.ndarray, ...]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise SystemExit('The demo needs scikit-learn: pip install "keras-leaky[demo]"') from error
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return x[:split], y[:split], x[split:], y[split:]


def build_model(activation: str, seed: int = 0) -> keras.Model:
    """A 64-128-64-10 MLP whose hidden layers use `activation` by name."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation=activation),
            keras.layers.Dense(64, activation=activation),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def run(
    epochs: int = 10, seed: int = 0, on_row: Callable[[dict], None] | None = None
) -> list[dict]:
    """Trains, saves and reloads one model per name; returns a row per name.

    `dead_fraction` is the mean, over the hidden activations, of the share of
    units that pass no gradient for any test input after the last epoch.
    `on_row`, if given, is called with each row as soon as it is done.
    """
    x_train, y_train, x_test, y_test = _load_digits(seed)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in NAMES:
            start = time.perf_counter()
            model = build_model(name, seed)
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            history = model.fit(
                x_train,
                y_train,
                epochs=epochs,
                batch_size=64,
                verbose=0,
                callbacks=[DeadUnitMonitor(x_test)],
            ).history
            dead = [values[-1] for key, values in history.items() if "dead" in key]
            _, accuracy = model.evaluate(x_test, y_test, verbose=0)
            path = os.path.join(folder, f"{name}.keras")
            model.save(path)
            reloaded = keras.saving.load_model(path)
            same = np.array_equal(
                model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0)
            )
            rows.append(
                {
                    "activation": name,
                    "params": model.count_params(),
                    "test_accuracy": float(accuracy),
                    "reload_identical": bool(same),
                    "dead_fraction": float(np.mean(dead)),
                    "seconds": time.perf_counter() - start,
                }
            )
            if on_row is not None:
                on_row(rows[-1])
    return rows


def main() -> int:
    print(
        f"keras-leaky {keras_leaky.__version__} demo, Keras {keras.__version__}, "
        f"backend {keras.backend.backend()}: 8x8 digits, 64-128-64-10 MLP"
    )
    print(f"Training one model per activation name, {len(NAMES)} in all (~10 s each)...")
    print(
        f"{'activation':<12}{'params':>8}{'test acc':>10}{'dead units':>12}"
        f"{'reloaded == saved':>19}{'s':>6}",
        flush=True,
    )

    def print_row(row: dict) -> None:
        print(
            f"{row['activation']:<12}{row['params']:>8}{row['test_accuracy']:>10.3f}"
            f"{row['dead_fraction']:>12.1%}"
            f"{'yes' if row['reload_identical'] else 'NO':>19}{row['seconds']:>6.1f}",
            flush=True,
        )

    rows = run(on_row=print_row)
    ok = all(row["reload_identical"] for row in rows)
    print("All reloaded models predict identically." if ok else "A reloaded model differs!")
    return 0 if ok else 1
