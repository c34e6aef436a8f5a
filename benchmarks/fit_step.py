"""Model level, time: the `model.fit` step of a small CNN with each case as its activation.

A worker (see `protocol`), one process per backend. The CNN (two 3x3 Conv2D of
32, max pooling, a Conv2D of 64, global average pooling, Dense 10; Adam) takes
`image`x`image` RGB inputs, `batch` a step, `steps` steps an epoch. Each model
fits one epoch to warm up; then the epochs are interleaved (each case once,
then again) and the median step time kept, in seconds.
"""

from __future__ import annotations

import statistics
import time

from benchmarks import cases, protocol


def cnn(image: int, activation: str):
    import keras

    import keras_leaky  # noqa: F401  (the activation names)

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((image, image, 3)),
            keras.layers.Conv2D(32, 3, padding="same", activation=activation),
            keras.layers.Conv2D(32, 3, padding="same", activation=activation),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation=activation),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def measure(image: int, batch: int, steps: int, repeats: int) -> dict[str, float]:
    """{case label: median seconds per step}."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, image, image, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch * steps)
    models = {case.label: cnn(image, case.activation) for case in cases.MODEL_CASES}
    for model in models.values():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    times = {label: [] for label in models}
    for _ in range(repeats):
        for label, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            times[label].append((time.perf_counter() - start) / steps)
    return {label: statistics.median(t) for label, t in times.items()}


if __name__ == "__main__":
    protocol.serve(measure)
