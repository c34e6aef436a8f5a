"""Activation names: every Keras layer that takes `activation=` resolves them."""

import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np
import pytest

import keras_leaky
from keras_leaky import activations

LEAKY_NAMES = ["prelu", "rrelu", "LeakyReLU"]
SPELLINGS = {
    "LeakyReLU": keras_leaky.LeakyReLU,
    "LeakyRelu": keras_leaky.LeakyReLU,
    "leakyrelu": keras_leaky.LeakyReLU,
    "Leaky-ReLU": keras_leaky.LeakyReLU,
    "PReLU": keras_leaky.PReLU,
    "prelu": keras_leaky.PReLU,
    "P_ReLU": keras_leaky.PReLU,
    "RReLU": keras_leaky.RReLU,
    "rrelu": keras_leaky.RReLU,
    "randomized_relu": keras_leaky.RReLU,
}


def run_python(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (same backend, via the environment)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name, cls", SPELLINGS.items())
def test_spellings_resolve_to_a_new_instance(name, cls):
    first = keras.activations.get(name)
    second = keras.activations.get(name)
    assert isinstance(first, cls) and isinstance(second, cls)
    assert first is not second


def test_keras_names_keep_their_meaning():
    assert keras.activations.get("leaky_relu") is keras.activations.leaky_relu
    assert keras.activations.get("relu") is keras.activations.relu
    assert keras.activations.get(None) is keras.activations.linear
    layer = keras.layers.Dense(3, activation="leaky_relu")
    assert layer.get_config()["activation"] == "leaky_relu"


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="prelu.*rrelu") as info:
        keras.layers.Dense(3, activation="prelux")
    assert "relu" in str(info.value) and "prelux" in str(info.value)


def test_sequential_dense_leakyrelu_spelling_users_ask_about():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(90, activation="LeakyRelu")])
    x = np.array([[-1.0, 2.0, -3.0, 4.0]], "float32")
    kernel, bias = model.layers[0].get_weights()
    z = x @ kernel + bias
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x)), np.where(z > 0, z, 0.2 * z), rtol=1e-6, atol=1e-6
    )


LAYERS_WITH_ACTIVATION = {
    "Dense": (lambda a: keras.layers.Dense(6, activation=a), (5,), 6),
    "EinsumDense": (
        lambda a: keras.layers.EinsumDense("ab,bc->ac", output_shape=6, activation=a),
        (5,),
        6,
    ),
    "Conv1D": (lambda a: keras.layers.Conv1D(6, 3, activation=a), (8, 2), 6),
    "Conv2D": (lambda a: keras.layers.Conv2D(6, 3, activation=a), (8, 8, 2), 6),
    "Conv3D": (lambda a: keras.layers.Conv3D(6, 3, activation=a), (5, 5, 5, 2), 6),
    "Conv1DTranspose": (lambda a: keras.layers.Conv1DTranspose(6, 3, activation=a), (8, 2), 6),
    "Conv2DTranspose": (
        lambda a: keras.layers.Conv2DTranspose(6, 3, activation=a),
        (8, 8, 2),
        6,
    ),
    "Conv3DTranspose": (
        lambda a: keras.layers.Conv3DTranspose(6, 3, activation=a),
        (4, 4, 4, 2),
        6,
    ),
    "SeparableConv1D": (lambda a: keras.layers.SeparableConv1D(6, 3, activation=a), (8, 2), 6),
    "SeparableConv2D": (
        lambda a: keras.layers.SeparableConv2D(6, 3, activation=a),
        (8, 8, 2),
        6,
    ),
    "DepthwiseConv1D": (lambda a: keras.layers.DepthwiseConv1D(3, activation=a), (8, 2), 2),
    "DepthwiseConv2D": (lambda a: keras.layers.DepthwiseConv2D(3, activation=a), (8, 8, 2), 2),
    "Activation": (lambda a: keras.layers.Activation(a), (7,), 7),
}


@pytest.mark.parametrize("layer_name", LAYERS_WITH_ACTIVATION)
def test_prelu_by_name_is_built_with_its_host(layer_name):
    make, input_shape, channels = LAYERS_WITH_ACTIVATION[layer_name]
    inputs = keras.Input(input_shape)
    layer = make("prelu")
    model = keras.Model(inputs, layer(inputs))
    # Built as soon as the functional model is constructed: no call needed.
    assert layer.activation.built
    assert tuple(layer.activation.alpha.shape) == (channels,)
    assert any(w is layer.activation.alpha for w in model.trainable_weights)
    x = np.random.default_rng(0).normal(size=(2, *input_shape)).astype("float32")
    assert model(x).shape[-1] == channels


def test_each_host_owns_its_activation_and_weights_train():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="prelu"),
            keras.layers.Dense(8, activation="prelu"),
            keras.layers.Dense(1),
        ]
    )
    first, second = model.layers[0].activation, model.layers[1].activation
    assert first is not second and first.alpha is not second.alpha
    assert model.count_params() == (4 * 8 + 8 + 8) + (8 * 8 + 8 + 8) + (8 + 1)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    model.fit(x, -np.abs(x[:, :1]), epochs=2, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(first.alpha), 0.25)


def test_each_rrelu_name_has_its_own_noise():
    first = keras.layers.Dense(4, activation="rrelu")
    second = keras.layers.Dense(4, activation="rrelu")
    assert first.activation.seed_generator is not second.activation.seed_generator
    x = -np.ones((1, 64), "float32")
    a = first.activation(x, training=True)
    b = second.activation(x, training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


@pytest.mark.parametrize("how", ["name", "instance", "class"])
def test_load_weights_into_freshly_built_model(tmp_path, how):
    def make():
        activation = {
            "name": "prelu",
            "instance": keras_leaky.PReLU(),
            "class": keras_leaky.PReLU,
        }[how]
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation=activation)])

    model = make()
    model.layers[0].activation.alpha.assign(np.arange(5, dtype="float32"))
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    fresh = make()
    fresh.load_weights(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(fresh.layers[0].activation.alpha), np.arange(5)
    )


def test_activation_follows_host_dtype():
    layer = keras.layers.Dense(4, activation="prelu", dtype="bfloat16")
    y = layer(np.ones((2, 3), "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(layer.activation.alpha.dtype) == "bfloat16"


def test_stateful_name_in_recurrent_cell_fails_at_construction():
    with pytest.raises(ValueError, match="recurrent"):
        keras.layers.LSTM(4, activation="prelu")
    keras.layers.LSTM(4, activation="LeakyReLU")  # Stateless: fine.


def test_importing_twice_is_harmless():
    hooked = keras.activations.get
    activations.install()
    activations.install()
    assert keras.activations.get is hooked
    assert not hasattr(hooked._keras_leaky_original, "_keras_leaky_original")


def test_import_fails_clearly_when_keras_internals_move():
    result = run_python(
        """
        import keras
        import keras.src.activations as internals
        del internals.ALL_OBJECTS_DICT
        original = internals.get
        try:
            import keras_leaky
        except ImportError as error:
            print("ERROR:", error)
        assert internals.get is original, "hook half-installed"
        leftover = [k for k in keras.saving.get_custom_objects() if k.startswith("keras_leaky>")]
        assert not leftover, leftover
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR: keras_leaky cannot register" in result.stdout
    assert keras.__version__ in result.stdout


def test_models_without_keras_leaky_are_unchanged(tmp_path):
    path = str(tmp_path / "plain.keras")
    code = """
        import numpy as np, keras
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="leaky_relu"),
                                  keras.layers.Dense(2, activation="relu")])
        x = np.linspace(-2, 2, 8, dtype="float32").reshape(2, 4)
        {}
        """
    save = run_python(
        code.format(
            f"model.save({path!r}); "
            f"np.save({path!r} + '.npy', keras.ops.convert_to_numpy(model(x)))"
        )
    )
    assert save.returncode == 0, save.stderr
    load = run_python(
        code.format(
            f"import keras_leaky; loaded = keras.saving.load_model({path!r}); "
            "y = keras.ops.convert_to_numpy(loaded(x)); "
            f"assert np.array_equal(y, np.load({path!r} + '.npy'))"
        )
    )
    assert load.returncode == 0, load.stderr


def test_building_models_from_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(6)
    names = ["prelu", "rrelu", "LeakyReLU", "prelu", "rrelu", "PReLU"]

    def build(index):
        barrier.wait()  # Start together, so the hooks really overlap.
        models = []
        for width in range(3, 9):
            inputs = keras.Input((4,))
            hidden = keras.layers.Dense(width, activation=names[index])(inputs)
            models.append((width, keras.Model(inputs, keras.layers.Dense(2)(hidden))))
        return models

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(build, range(6)))

    seen = []
    for index, models in enumerate(results):
        expected = type(activations.get(names[index]))
        for width, model in models:
            activation = model.layers[1].activation
            assert type(activation) is expected
            seen.append(activation)
            if isinstance(activation, keras_leaky.PReLU):
                # Built with its own host, at its own width: no cross-talk.
                assert tuple(activation.alpha.shape) == (width,)
            assert model.predict(np.ones((1, 4), "float32"), verbose=0).shape == (1, 2)
    assert len({id(a) for a in seen}) == len(seen)
