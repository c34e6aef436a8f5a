"""Activation names: every Keras layer that takes `activation=` resolves them."""

import threading

import keras
import numpy as np
import pytest

import keras_leaky
from keras_leaky import activations
from keras_leaky.layers import LAYERS
from tests.backend_utils import run_python

LEAKY_NAMES = [layer.__name__ for layer in LAYERS]
"""Every keras_leaky layer's name, as its class is spelled."""


def spellings(name: str) -> list[str]:
    """Ways users write a layer's name: `PReLU`, `prelu`, `PRELU`, `PRelu`, `P-ReLU`, `P_relu`."""
    return [
        name,
        name.lower(),
        name.upper(),
        name.replace("ReLU", "Relu"),
        name.replace("ReLU", "-ReLU"),
        name.replace("ReLU", "_relu"),
    ]


SPELLINGS = {spelling: layer for layer in LAYERS for spelling in spellings(layer.__name__)}
SPELLINGS["randomized_relu"] = keras_leaky.RReLU  # An alias (`activations.ALIASES`).


def keeps_state(layer_class: type[keras.layers.Layer]) -> bool:
    """Whether a layer, once called, holds variables: weights, or a seed's state."""
    layer = layer_class()
    layer(np.ones((2, 3), "float32"))
    return bool(layer.variables)


STATEFUL = [layer.__name__ for layer in LAYERS if keeps_state(layer)]


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
    code = """
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
    result = run_python("-c", code, timeout=120)
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
    save = f"model.save({path!r}); np.save({path!r} + '.npy', keras.ops.convert_to_numpy(model(x)))"
    result = run_python("-c", code.format(save), timeout=120)
    assert result.returncode == 0, result.stderr
    load = (
        f"import keras_leaky; loaded = keras.saving.load_model({path!r}); "
        "y = keras.ops.convert_to_numpy(loaded(x)); "
        f"assert np.array_equal(y, np.load({path!r} + '.npy'))"
    )
    result = run_python("-c", code.format(load), timeout=120)
    assert result.returncode == 0, result.stderr


def test_building_models_from_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    names = LEAKY_NAMES * 2  # Two threads per name.
    barrier = threading.Barrier(len(names))

    def build(index):
        barrier.wait()  # Start together, so the hooks really overlap.
        models = []
        for width in range(3, 9):
            inputs = keras.Input((4,))
            hidden = keras.layers.Dense(width, activation=names[index])(inputs)
            models.append((width, keras.Model(inputs, keras.layers.Dense(2)(hidden))))
        return models

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(build, range(len(names))))

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


# ---------------------------------------------------------------------------
# The forms real code takes: custom layers, several outputs, layouts, dtypes.


@pytest.fixture
def restore_global_config():
    """Puts back the global dtype policy and image data format a test changed."""
    policy, data_format = keras.config.dtype_policy(), keras.config.image_data_format()
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_image_data_format(data_format)


@keras.saving.register_keras_serializable(package="keras_leaky_tests")
class FeedForward(keras.layers.Layer):
    """A block as Keras's guides write one: Dense(16) -> act -> Dense(3).

    It asks for its activation in `__init__`, builds its sublayers in
    `build()` and applies the activation to a hidden tensor whose width is
    not the block's output width.
    """

    def __init__(self, activation="prelu", **kwargs):
        super().__init__(**kwargs)
        self.act = keras.activations.get(activation)
        self.hidden = keras.layers.Dense(16)
        self.out = keras.layers.Dense(3)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.out.build(tuple(input_shape[:-1]) + (16,))

    def call(self, inputs):
        return self.out(self.act(self.hidden(inputs)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)

    def get_config(self):
        return {**super().get_config(), "activation": keras.activations.serialize(self.act)}


class _Helper:
    """A plain object that asks for an activation, inside a layer's `__init__`."""

    def __init__(self, name):
        self.act = keras.activations.get(name)


@keras.saving.register_keras_serializable(package="keras_leaky_tests")
class WithHelper(FeedForward):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.act = _Helper("prelu").act


ACTIVATIONS_IN_A_BLOCK = {f"{name} name": lambda name=name: name for name in LEAKY_NAMES}
ACTIVATIONS_IN_A_BLOCK["PReLU instance"] = lambda: keras_leaky.PReLU()


@pytest.mark.parametrize("how", ACTIVATIONS_IN_A_BLOCK)
def test_activation_of_a_hidden_tensor_in_a_custom_layer(tmp_path, how):
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    block = FeedForward(ACTIVATIONS_IN_A_BLOCK[how]())
    assert block(x).shape == (2, 3)  # Eagerly: built at its first call, at width 16.
    if isinstance(block.act, keras_leaky.PReLU):
        assert tuple(block.act.alpha.shape) == (16,)

    inputs = keras.Input((4,))
    model = keras.Model(inputs, FeedForward(ACTIVATIONS_IN_A_BLOCK[how]())(inputs))
    model.compile("adam", "mse")
    model.fit(x, np.ones((2, 3), "float32"), epochs=1, verbose=0)
    path = str(tmp_path / "block.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x))
    )


def test_activation_asked_for_by_a_helper_object_in_init():
    block = WithHelper()
    assert block(np.ones((2, 4), "float32")).shape == (2, 3)
    assert tuple(block.act.alpha.shape) == (16,)


def test_activation_asked_for_in_build_is_built_at_its_first_call():
    class BuildsItsActivation(FeedForward):
        def build(self, input_shape):
            self.act = keras.activations.get("prelu")
            super().build(input_shape)

    block = BuildsItsActivation()
    assert block(np.ones((2, 4), "float32")).shape == (2, 3)
    assert tuple(block.act.alpha.shape) == (16,)


def test_host_with_several_outputs():
    class TwoHeads(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.activation = keras.activations.get("prelu")
            self.dense = keras.layers.Dense(5)

        def build(self, input_shape):
            self.dense.build(input_shape)

        def call(self, inputs):
            hidden = self.dense(inputs)
            return self.activation(hidden), self.activation(-hidden)

        def compute_output_shape(self, input_shape):
            shape = tuple(input_shape[:-1]) + (5,)
            return shape, shape

    inputs = keras.Input((4,))
    layer = TwoHeads()
    first, second = layer(inputs)
    assert first.shape == second.shape == (None, 5)
    model = keras.Model(inputs, [first, second])
    outputs = model(np.ones((2, 4), "float32"))
    assert [tuple(o.shape) for o in outputs] == [(2, 5), (2, 5)]
    assert tuple(layer.activation.alpha.shape) == (5,)


@pytest.mark.parametrize(
    "make, shape, alpha_shape",
    [
        (lambda: keras.layers.Conv2D(8, 3, data_format="channels_first"), (2, 6, 7), (8, 1, 1)),
        (lambda: keras.layers.Conv1D(8, 3, data_format="channels_first"), (2, 9), (8, 1)),
        (lambda: keras.layers.Conv2D(8, 3, data_format="channels_last"), (6, 7, 2), (8,)),
    ],
)
def test_prelu_name_learns_one_alpha_per_channel_of_the_host(make, shape, alpha_shape):
    layer = make()
    layer = type(layer).from_config({**layer.get_config(), "activation": "prelu"})
    y = layer(np.ones((1, *shape), "float32"))
    assert tuple(layer.activation.alpha.shape) == alpha_shape
    # Another image size: the same alphas apply (one per channel, not per column).
    bigger = tuple(size + 2 for size in shape[:-1]) + shape[-1:]
    if layer.data_format == "channels_first":
        bigger = shape[:1] + tuple(size + 2 for size in shape[1:])
    assert layer(np.ones((1, *bigger), "float32")).shape[0] == 1
    assert y.shape[1 if layer.data_format == "channels_first" else -1] == 8


def test_dense_prelu_name_under_global_channels_first(restore_global_config):
    keras.config.set_image_data_format("channels_first")
    inputs = keras.Input((None, 4))  # (batch, time, features): T unknown.
    layer = keras.layers.Dense(8, activation="prelu")
    model = keras.Model(inputs, layer(inputs))
    assert tuple(layer.activation.alpha.shape) == (8,)  # One per channel, not per step.
    for steps in (3, 5):
        assert model(np.ones((2, steps, 4), "float32")).shape == (2, steps, 8)


@pytest.mark.parametrize("policy", ["float64", "mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", LEAKY_NAMES)
def test_names_follow_the_host_dtype_policy(restore_global_config, policy, name):
    def output_dtype(activation):
        layer = keras.layers.Dense(3, activation=activation, dtype=policy)
        return keras.backend.standardize_dtype(layer(np.ones((2, 4), "float32")).dtype)

    # Keras's own name is the reference: what its function gives on this backend.
    expected = output_dtype("leaky_relu")
    assert output_dtype(name) == expected
    keras.config.set_dtype_policy(policy)
    assert (
        keras.backend.standardize_dtype(
            keras.layers.Dense(3, activation=name)(np.ones((2, 4), "float32")).dtype
        )
        == expected
    )


class _AsksInCall(keras.layers.Layer):
    def __init__(self, name, **kwargs):
        super().__init__(**kwargs)
        self.activation_name = name

    def call(self, inputs):
        return keras.activations.get(self.activation_name)(inputs)


@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_name_asked_for_in_call_says_where_to_create_it(name):
    with pytest.raises(ValueError, match=r"created inside `_AsksInCall.call\(\)`.*`__init__`"):
        _AsksInCall(name)(np.ones((2, 3), "float32"))
    # Also when Keras traces the call (functional construction, fit's compiled step).
    with pytest.raises(ValueError, match="__init__"):
        _AsksInCall(name)(keras.Input((3,)))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), _AsksInCall("relu")])
    model.layers[-1].activation_name = name
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="__init__"):
        model.fit(np.ones((2, 3), "float32"), np.ones((2, 3), "float32"), verbose=0)


def test_stateless_name_in_call_is_fine():
    y = _AsksInCall("LeakyReLU")(np.array([[-1.0, 2.0]], "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), [[-0.2, 2.0]])
