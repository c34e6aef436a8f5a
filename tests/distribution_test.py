"""Distributed training: `tf.distribute.MirroredStrategy` and JAX `DataParallel`.

Both need two devices configured before the backend starts, so each runs in a
fresh process on this CPU: TensorFlow with two logical CPUs, JAX with
`XLA_FLAGS=--xla_force_host_platform_device_count=2`. The script prints its
measurements as JSON; the assertions are here.
"""

import json

import keras
import pytest

from tests.backend_utils import run_python

COMMON = """
import json
import keras, numpy as np
import keras_leaky


def make(rrelu=False):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    h = keras.layers.Dense(16, activation="prelu")(inputs)
    h = keras_leaky.LeakyReLU(0.1)(keras.layers.Dense(16)(h))
    h = keras_leaky.PReLU()(h)
    if rrelu:
        h = keras_leaky.RReLU(seed=1)(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def alphas(model):
    return [w for w in model.weights if w.path.endswith("alpha")]


rng = np.random.default_rng(0)
x = rng.standard_normal((64, 8)).astype("float32")
y = rng.standard_normal((64, 1)).astype("float32")
FIT = dict(batch_size=32, epochs=2, shuffle=False, verbose=0)
single = make()
single.fit(x, y, **FIT)
single_weights = [keras.ops.convert_to_numpy(w) for w in single.weights]
out = {}
"""

MIRRORED = (
    """
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
"""
    + COMMON
    + """
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out["replicas"] = strategy.num_replicas_in_sync
with strategy.scope():
    model = make()
    initial = [a.numpy() for a in alphas(model)]
out["losses"] = model.fit(x, y, **FIT).history["loss"]
out["mirrored"] = all(type(a.value).__name__ == "MirroredVariable" for a in alphas(model))
out["in_sync"] = all(
    np.array_equal(a.value.values[0].numpy(), a.value.values[1].numpy()) for a in alphas(model)
)
out["trained"] = all(not np.allclose(a.numpy(), i) for a, i in zip(alphas(model), initial))
out["max_diff_vs_single"] = max(
    float(np.abs(w.numpy() - s).max()) for w, s in zip(model.weights, single_weights)
)

with strategy.scope():
    noisy = make(rrelu=True)
out["rrelu_losses"] = noisy.fit(x, y, **FIT).history["loss"]
layer = noisy.layers[-2]
step = tf.function(lambda v: strategy.run(lambda: layer(v, training=True)))
per_replica = strategy.experimental_local_results(step(tf.constant(-np.ones((4, 500), "float32"))))
out["rrelu_replicas_differ"] = not np.array_equal(per_replica[0].numpy(), per_replica[1].numpy())
print("RESULT" + json.dumps(out))
"""
)

DATA_PARALLEL = (
    COMMON
    + """
import jax

out["devices"] = len(jax.devices())
single_prediction = single.predict(x, verbose=0)
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
model = make(rrelu=True)
initial = [keras.ops.convert_to_numpy(a) for a in alphas(model)]
out["losses"] = model.fit(x, y, **FIT).history["loss"]
out["mesh"] = dict(alphas(model)[0].value.sharding.mesh.shape)
out["trained"] = all(
    not np.allclose(keras.ops.convert_to_numpy(a), i) for a, i in zip(alphas(model), initial)
)
leaky_only = make()
leaky_only.fit(x, y, **FIT)
out["max_diff_vs_single"] = max(
    float(np.abs(keras.ops.convert_to_numpy(w) - s).max())
    for w, s in zip(leaky_only.weights, single_weights)
)
out["prediction_diff_vs_single"] = float(
    np.abs(leaky_only.predict(x, verbose=0) - single_prediction).max()
)
print("RESULT" + json.dumps(out))
"""
)


def run(script, backend, **env):
    result = run_python("-c", script, env={"KERAS_BACKEND": backend, **env})
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_mirrored_strategy_on_two_cpus():
    out = run(MIRRORED, "tensorflow")
    assert out["replicas"] == 2
    assert out["losses"][1] < out["losses"][0]
    assert out["mirrored"] and out["in_sync"] and out["trained"]
    # Same data, same initial weights: two replicas train like one device.
    assert out["max_diff_vs_single"] < 1e-5
    assert out["rrelu_losses"][1] < out["rrelu_losses"][0]
    assert out["rrelu_replicas_differ"]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX DataParallel")
def test_jax_data_parallel_on_two_host_devices():
    out = run(DATA_PARALLEL, "jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert out["devices"] == 2
    assert out["mesh"] == {"batch": 2}
    assert out["losses"][1] < out["losses"][0]
    assert out["trained"]
    assert out["max_diff_vs_single"] < 1e-5 and out["prediction_diff_vs_single"] < 1e-5
