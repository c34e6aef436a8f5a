"""Tests for `keras_leaky.callbacks.DeadUnitMonitor`."""

import warnings

import keras
import numpy as np
import pytest

import keras_leaky
from keras_leaky.callbacks import DeadUnitMonitor, DeadUnitWarning
from keras_leaky.layers import LAYERS

DEAD = keras.initializers.Constant(-10.0)
LEAKY_NAMES = [layer.__name__ for layer in LAYERS]


def data(n=128, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def mlp(activation, bias_initializer="zeros", units=16):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(
                units, activation=activation, bias_initializer=bias_initializer, name="hidden_1"
            ),
            keras.layers.Dense(
                units, activation=activation, bias_initializer=bias_initializer, name="hidden_2"
            ),
            keras.layers.Dense(1, name="out"),
        ]
    )


def fit(model, monitor, epochs=2, **kwargs):
    x, y = data()
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model.fit(x, y, batch_size=32, epochs=epochs, callbacks=[monitor], verbose=0, **kwargs)


def dead_keys(history):
    return sorted(k for k in history.history if "dead" in k)


def test_relu_network_built_to_die_is_reported_dead():
    history = fit(mlp("relu", DEAD), DeadUnitMonitor(data()[0]))
    assert dead_keys(history) == ["dead_units/hidden_1", "dead_units/hidden_2"]
    for key in dead_keys(history):
        assert len(history.history[key]) == 2
        assert all(value >= 0.9 for value in history.history[key])


@pytest.mark.parametrize("activation", ["leaky_relu", *LEAKY_NAMES])
def test_leaky_network_with_the_same_biases_is_alive(activation):
    history = fit(mlp(activation, DEAD), DeadUnitMonitor(data()[0]))
    assert dead_keys(history) == ["dead_units/hidden_1", "dead_units/hidden_2"]
    for key in dead_keys(history):
        assert history.history[key] == [0.0, 0.0]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "prelu"])
def test_never_positive_is_reported_apart(activation):
    monitor = DeadUnitMonitor(data()[0])
    monitor.set_model(mlp(activation, DEAD))
    results = monitor.measure()
    assert results["inactive_units/hidden_1"] == 1.0
    assert results["dead_units/hidden_1"] == (1.0 if activation == "relu" else 0.0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_healthy_network_is_alive(activation):
    history = fit(mlp(activation, units=8), DeadUnitMonitor(data()[0]))
    for key in dead_keys(history):
        assert history.history[key][-1] <= 0.25


def test_probe_as_x_y_tuple():
    history = fit(mlp("relu", DEAD), DeadUnitMonitor(data()))
    assert history.history["dead_units/hidden_1"][0] >= 0.9


def test_instances_and_standalone_layers():
    keras.utils.set_random_seed(0)
    dense = {"bias_initializer": DEAD}
    standalone = [
        keras.layers.ReLU(name="keras_relu"),
        keras.layers.Activation("relu", name="act_relu"),
        keras.layers.LeakyReLU(name="keras_leaky"),
        keras.layers.PReLU(name="keras_prelu"),
        *(layer(name=f"kl_{layer.__name__.lower()}") for layer in LAYERS),
    ]
    layers = [
        keras.Input((8,)),
        keras.layers.Dense(8, activation=keras.layers.ReLU(), name="keras_relu_inst", **dense),
        keras.layers.Dense(8, activation=keras_leaky.PReLU(), name="prelu_inst", **dense),
    ]
    for index, layer in enumerate(standalone, 1):
        layers += [keras.layers.Dense(8, name=f"linear_{index}", **dense), layer]
    layers += [keras.layers.Dense(1, activation="softmax", name="out")]
    history = fit(keras.Sequential(layers), DeadUnitMonitor(data()[0]), epochs=1)
    dead = {k.split("/", 1)[1]: v[0] for k, v in history.history.items() if "dead" in k}
    ours = [f"kl_{name.lower()}" for name in LEAKY_NAMES]
    assert set(dead) == {
        "keras_relu_inst",
        "prelu_inst",
        "keras_relu",
        "act_relu",
        "keras_leaky",
        "keras_prelu",
        *ours,
    }
    for name in ("keras_relu_inst", "keras_relu", "act_relu"):
        assert dead[name] >= 0.9, name
    for name in ("prelu_inst", "keras_leaky", *ours):
        assert dead[name] == 0.0, name
    # keras.layers.PReLU starts at alpha = 0: ReLU, dead as long as it stays there.
    assert 0.0 <= dead["keras_prelu"] <= 1.0


def test_values_are_fractions_and_keys_say_dead():
    monitor = DeadUnitMonitor(data()[0])
    history = fit(mlp("relu", units=8), monitor)
    assert dead_keys(history)
    for key, values in history.history.items():
        if key != "loss":
            assert all(0.0 <= v <= 1.0 for v in values), key
    assert set(monitor.fractions) == {k for k in history.history if k != "loss"}


def test_model_is_restored():
    activation = keras_leaky.PReLU()
    standalone = keras.layers.ReLU()
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation=activation),
            standalone,
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    x = data()[0]
    before = keras.ops.convert_to_numpy(model(x))
    relu_function = model.layers[2].activation
    monitor = DeadUnitMonitor(x)
    monitor.set_model(model)
    monitor.on_epoch_end(0, {})
    assert model.layers[0].activation is activation
    assert model.layers[2].activation is relu_function
    assert "call" not in vars(standalone)
    assert "activation" not in vars(activation)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), before)
    # Training after the callback still works and is unaffected by it.
    history = fit(model, monitor, epochs=1)
    assert model.layers[0].activation is activation
    assert dead_keys(history)


def test_threshold_warns_once_per_crossing():
    monitor = DeadUnitMonitor(data()[0], threshold=0.5)
    with pytest.warns(DeadUnitWarning) as record:
        fit(mlp("relu", DEAD), monitor, epochs=3)
    # Two dead layers, each warned at its first crossing only.
    messages = sorted(str(w.message) for w in record if issubclass(w.category, DeadUnitWarning))
    assert len(messages) == 2
    assert "'hidden_1'" in messages[0] and "'hidden_2'" in messages[1]


def test_no_warning_below_threshold():
    monitor = DeadUnitMonitor(data()[0], threshold=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeadUnitWarning)
        fit(mlp("prelu", DEAD), monitor)


class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs or {}))


def test_every_n_batches_writes_batch_logs():
    recorder = BatchLogs()
    monitor = DeadUnitMonitor(data()[0], every_n_batches=2)
    x, y = data()
    model = mlp("relu", DEAD)
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(x, y, batch_size=32, epochs=1, callbacks=[monitor, recorder], verbose=0)
    with_dead = [i for i, logs in enumerate(recorder.logs) if "dead_units/hidden_1" in logs]
    assert with_dead == [1, 3]
    assert recorder.logs[1]["dead_units/hidden_1"] >= 0.9


def test_conv_units_are_channels():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, activation="relu", bias_initializer=DEAD, name="conv"),
            keras.layers.Conv2D(4, 3, activation="prelu", name="conv_prelu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1),
        ]
    )
    x = np.random.default_rng(0).normal(size=(16, 6, 6, 2)).astype("float32")
    monitor = DeadUnitMonitor(x)
    monitor.set_model(model)
    results = monitor.measure()
    assert results["dead_units/conv"] == 1.0
    assert results["dead_units/conv_prelu"] == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"every_n_batches": 0},
        {"every_n_batches": 1.5},
        {"threshold": 1.5},
        {"threshold": True},
        {"verbose": 2},
    ],
)
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match="Received"):
        DeadUnitMonitor(data()[0], **kwargs)


def test_nested_model_activations_are_found():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(8, activation="relu", bias_initializer=DEAD)],
        name="inner",
    )
    inputs = keras.Input((8,))
    outputs = keras.layers.Dense(1)(inner(inputs))
    model = keras.Model(inputs, outputs)
    monitor = DeadUnitMonitor(data()[0])
    monitor.set_model(model)
    assert monitor.measure()[f"dead_units/{inner.layers[0].name}"] == 1.0


class GAN(keras.Model):
    """keras-io's GAN (`examples/generative/dcgan_overriding_train_step.py`), small.

    Sub-models `discriminator` and `generator`, no `call()`, its own
    `train_step`, one per backend as the keras-io guides write them
    (`custom_train_step_in_{tensorflow,torch,jax}.py`). The latent vectors come
    with the data, as `y`, so that the step holds no random state; one
    optimizer steps the discriminator on its loss and the generator on its.
    """

    def __init__(self, discriminator, generator):
        super().__init__(name="gan")
        self.discriminator = discriminator
        self.generator = generator
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.steps = 0  # Calls (traces, when compiled) of train_step: 0 iff no batch ran.
        # Its state is its sub-models', built already; else `fit` on JAX and
        # torch would build it by calling it.
        self.built = True

    def gan_losses(self, real, latent):
        fake_logits = self.discriminator(self.generator(latent, training=True), training=True)
        real_logits = self.discriminator(real, training=True)
        ones, zeros = keras.ops.ones_like(real_logits), keras.ops.zeros_like(fake_logits)
        d_loss = self.bce(ones, real_logits) + self.bce(zeros, fake_logits)
        return d_loss, self.bce(ones, fake_logits)

    def train_step(self, *args):
        self.steps += 1
        return getattr(self, f"_{keras.backend.backend()}_step")(*args)

    def _tensorflow_step(self, data):
        import tensorflow as tf

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            d_loss, g_loss = self.gan_losses(*data)
        grads = tape.gradient(d_loss, d_vars) + tape.gradient(g_loss, g_vars)
        self.optimizer.apply(grads, d_vars + g_vars)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def _torch_step(self, data):
        import torch

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_loss, g_loss = self.gan_losses(*data)
        grads = torch.autograd.grad(d_loss, [v.value for v in d_vars], retain_graph=True)
        grads += torch.autograd.grad(g_loss, [v.value for v in g_vars])
        with torch.no_grad():
            self.optimizer.apply(list(grads), d_vars + g_vars)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def _jax_step(self, state, data):
        import jax

        trainable, non_trainable, optimizer_vars, metrics_vars = state
        mapping = list(zip(self.non_trainable_variables, non_trainable, strict=True))

        def loss(values, which):
            scope = zip(self.trainable_variables, values, strict=True)
            with keras.StatelessScope(state_mapping=list(scope) + mapping):
                return self.gan_losses(*data)[which]

        d_loss, d_grads = jax.value_and_grad(loss)(trainable, 0)
        g_loss, g_grads = jax.value_and_grad(loss)(trainable, 1)
        in_d = {id(v) for v in self.discriminator.trainable_variables}
        grads = [
            d if id(v) in in_d else g
            for v, d, g in zip(self.trainable_variables, d_grads, g_grads, strict=True)
        ]
        trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads, trainable)
        state = (trainable, non_trainable, optimizer_vars, metrics_vars)
        return {"d_loss": d_loss, "g_loss": g_loss}, state


def gan(generator_bias="zeros"):
    keras.utils.set_random_seed(0)
    discriminator = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="leaky_relu", bias_initializer=DEAD, name="d_leaky"),
            keras.layers.Dense(8, activation="prelu", bias_initializer=DEAD, name="d_prelu"),
            keras.layers.Dense(1, name="d_logit"),
        ],
        name="discriminator",
    )
    generator = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(
                8, activation="relu", bias_initializer=generator_bias, name="g_relu"
            ),
            keras.layers.Dense(4, name="g_out"),
        ],
        name="generator",
    )
    model = GAN(discriminator, generator)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    return model


def gan_data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def fit_gan(model, monitor, epochs=2):
    real, latent = gan_data()
    return model.fit(real, latent, batch_size=16, epochs=epochs, callbacks=[monitor], verbose=0)


def test_gan_discriminator_is_watched():
    model = gan()
    history = fit_gan(model, DeadUnitMonitor(gan_data()[0], model=model.discriminator))
    assert model.steps > 0
    assert dead_keys(history) == [
        "dead_units/discriminator/d_leaky",
        "dead_units/discriminator/d_prelu",
    ]
    for key in dead_keys(history):
        assert history.history[key] == [0.0, 0.0], key  # Leaky: alive despite DEAD biases.
    assert history.history["inactive_units/discriminator/d_leaky"][0] >= 0.9


def test_gan_sub_models_each_with_its_probe():
    model = gan(generator_bias=DEAD)
    real, latent = gan_data()
    monitor = DeadUnitMonitor([real, latent], model=[model.discriminator, model.generator])
    history = fit_gan(model, monitor, epochs=1)
    assert dead_keys(history) == [
        "dead_units/discriminator/d_leaky",
        "dead_units/discriminator/d_prelu",
        "dead_units/generator/g_relu",
    ]
    assert history.history["dead_units/discriminator/d_prelu"] == [0.0]
    assert history.history["dead_units/generator/g_relu"][0] >= 0.9


def test_model_without_call_fails_before_any_batch():
    model = gan()
    message = r"'gan' \(GAN\) has no `call\(\)`.*model=gan.discriminator"
    with pytest.raises(ValueError, match=message):
        fit_gan(model, DeadUnitMonitor(gan_data()[0]))
    assert model.steps == 0
    # Given as `model=`, at construction.
    with pytest.raises(ValueError, match="has no `call"):
        DeadUnitMonitor(gan_data()[0], model=model)


def test_probe_that_does_not_fit_fails_before_any_batch():
    model = gan()
    with pytest.raises(ValueError):
        fit_gan(model, DeadUnitMonitor(gan_data()[1], model=model.discriminator))
    assert model.steps == 0


def test_invalid_model_arguments():
    model = gan()
    real, latent = gan_data()
    with pytest.raises(TypeError, match="Received: model="):
        DeadUnitMonitor(real, model=model.discriminator.layers[0])
    with pytest.raises(ValueError, match="of length 1"):
        DeadUnitMonitor([real], model=[model.discriminator, model.generator])
    with pytest.raises(ValueError, match="of type ndarray"):
        DeadUnitMonitor(real, model=[model.discriminator])
    with pytest.raises(ValueError, match="distinct names"):
        DeadUnitMonitor([real, real], model=[model.discriminator, model.discriminator])


def scalars(log_dir):
    """`{tag: [(step, value), ...]}` of the event files of TensorBoard's `train` run."""
    import tensorflow as tf

    found = {}
    for path in sorted((log_dir / "train").iterdir()):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                scalar = float(tf.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append((event.step, scalar))
    return found


@pytest.mark.parametrize("tensorboard_first", [True, False])
def test_scalars_reach_tensorboard_in_either_order(tmp_path, tensorboard_first):
    # Keras's TensorBoard callback writes through TF's summaries, on every backend.
    pytest.importorskip("tensorflow")
    pytest.importorskip("tensorboard")
    tensorboard = keras.callbacks.TensorBoard(tmp_path, write_graph=False, update_freq="batch")
    monitor = DeadUnitMonitor(data()[0], every_n_batches=2)
    x, y = data()
    model = mlp("relu", DEAD)
    model.compile(keras.optimizers.SGD(0.01), "mse")
    callbacks = [tensorboard, monitor] if tensorboard_first else [monitor, tensorboard]
    history = model.fit(x, y, batch_size=32, epochs=2, callbacks=callbacks, verbose=0)
    found = scalars(tmp_path)
    for key in ("dead_units/hidden_1", "inactive_units/hidden_2"):
        epochs = history.history[key]
        assert found[f"epoch_{key}"] == [(0, epochs[0]), (1, epochs[1])], key
        # 4 batches per epoch, measured every 2: TensorBoard's batch steps 2, 4, 6, 8.
        assert [step for step, _ in found[f"batch_{key}"]] == [2, 4, 6, 8], key
