"""Model level, memory: the peak memory of one training step of a deep MLP, per case.

A worker (see `protocol`), one fresh process per backend and case, so that
nothing measured before is still held. The MLP: `layers` Dense layers of
`units` with the case's activation, then Dense 1, mean squared error, SGD; one
step at `batch` (after a step on a 64th of the batch, to trace and compile).
On TensorFlow the figure comes from its allocator's statistics (exact);
elsewhere it is the rise of the process's peak resident memory over its
resident memory before the step, with glibc's allocator told to return every
block of 64 KiB or more when it is freed (`EXACT_MALLOC`: by default it keeps
freed memory, and the figures then depend on what ran before the step). MiB.
"""

from __future__ import annotations

from benchmarks import cases, protocol

# glibc: a fixed mmap threshold (which also stops it from rising) and no
# trimming slack, so that resident memory follows what is allocated.
EXACT_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def _resident_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(label: str, layers: int, units: int, batch: int) -> dict[str, float]:
    """{label: peak MiB added by one training step}."""
    import keras
    import numpy as np

    import keras_leaky  # noqa: F401  (the activation names)

    (activation,) = [case.activation for case in cases.MODEL_CASES if case.label == label]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((units,))]
        + [keras.layers.Dense(units, activation=activation) for _ in range(layers)]
        + [keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.001), loss="mse")
    x = np.random.default_rng(0).standard_normal((batch, units), dtype=np.float32)
    y = np.zeros((batch, 1), np.float32)
    small = max(1, batch // 64)
    model.train_on_batch(x[:small], y[:small])
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("CPU:0")
        before = tf.config.experimental.get_memory_info("CPU:0")["current"]
        model.train_on_batch(x, y)
        return {label: (tf.config.experimental.get_memory_info("CPU:0")["peak"] - before) / 2**20}
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Resets the peak (VmHWM) to the current resident size.
    before = _resident_kib("VmRSS")
    model.train_on_batch(x, y)
    return {label: (_resident_kib("VmHWM") - before) / 1024}


if __name__ == "__main__":
    protocol.serve(measure)
