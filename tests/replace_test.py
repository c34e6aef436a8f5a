"""Tests for `keras_leaky.replace_activations`: revive a trained ReLU network."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_leaky
from tests.backend_utils import grad, to_numpy

PRELU_AT_ZERO = {"relu": lambda: keras_leaky.PReLU(alpha_initializer=0.0)}


def x_like(model, n=8, seed=0):
    shape = (n, *model.input_shape[1:])
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def predict(model, x):
    return model.predict(x, verbose=0)


def relus(model):
    """The ReLUs `model` applies, in its layers and theirs: (layer name, where)."""
    found = []
    for layer in _all_layers(model):
        if type(layer) is keras.layers.ReLU:
            found.append((layer.name, "ReLU layer"))
        elif getattr(layer, "activation", None) is keras.activations.relu:
            found.append((layer.name, "activation"))
    return found


def _all_layers(model, blocks=True):
    """The layers of `model`, of the models in it and (if `blocks`) the sublayers of a `Block`."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer, blocks)
        if isinstance(layer, Block) and blocks:
            yield from (layer.inner, layer.outer)


def prelus(model):
    """Every PReLU in `model`: standalone layers and the activations of layers."""
    return [
        layer if isinstance(layer, keras_leaky.PReLU) else layer.activation
        for layer in _all_layers(model)
        if isinstance(layer, keras_leaky.PReLU)
        or isinstance(getattr(layer, "activation", None), keras_leaky.PReLU)
    ]


def assert_weights_copied(original, revived):
    """Every weight of `original` is in `revived`, under the same layer name, equal."""
    revived_layers = {layer.name: layer for layer in _all_layers(revived, blocks=False)}
    alphas = {id(w) for prelu in prelus(revived) for w in prelu.weights}  # New, at 0.
    for layer in _all_layers(original, blocks=False):
        if isinstance(layer, keras.Model) or not layer.weights:
            continue
        copy = revived_layers[layer.name]
        own = [w for w in copy.weights if id(w) not in alphas]
        assert len(own) == len(layer.weights), layer.name
        for w, c in zip(layer.weights, own, strict=True):
            np.testing.assert_array_equal(to_numpy(w), to_numpy(c), err_msg=layer.name)
            assert w is not c


def small_sequential():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.Dense(8, name="linear"),
            keras.layers.Activation("relu", name="act"),
            keras.layers.Dense(8, name="before_relu"),
            keras.layers.ReLU(name="relu_layer"),
            keras.layers.Dense(3, activation="softmax", name="head"),
        ]
    )


def functional_with_nested_models():
    """Branches and a merge (as in ResNet), a nested Sequential and a nested functional model."""
    keras.utils.set_random_seed(1)
    block_input = keras.Input((6, 6, 4))
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block_conv")(block_input)
    block = keras.Model(
        block_input, keras.layers.Add(name="block_add")([block_input, y]), name="block"
    )
    stem = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            keras.layers.Conv2D(4, 1, name="stem_conv"),
            keras.layers.ReLU(name="stem_relu"),
        ],
        name="stem",
    )
    inputs = keras.Input((6, 6, 3))
    x = stem(inputs)
    left = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="left")(x)
    right = keras.layers.Activation("relu", name="right")(
        keras.layers.BatchNormalization(name="bn")(x)
    )
    x = block(keras.layers.Add(name="merge")([left, right]))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inputs, outputs, name="net")


@keras.saving.register_keras_serializable(package="replace_test")
class Block(keras.layers.Layer):
    """A custom layer as users write them: sublayers made in `build()`, the activation
    an argument kept as given (a name) and in the config."""

    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation

    def build(self, input_shape):
        self.inner = keras.layers.Dense(self.units, activation=self.activation)
        self.inner.build(input_shape)
        self.outer = keras.layers.Dense(self.units, activation=self.activation)
        self.outer.build((*input_shape[:-1], self.units))

    def call(self, x):
        return self.outer(self.inner(x))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


def functional_with_custom_layer():
    keras.utils.set_random_seed(6)
    inputs = keras.Input((5,))
    outputs = keras.layers.Dense(2, name="head")(Block(6, name="block")(inputs))
    return keras.Model(inputs, outputs)


MODELS = {
    "sequential": small_sequential,
    "functional_nested": functional_with_nested_models,
    "custom_layer": functional_with_custom_layer,
}


@pytest.mark.parametrize("make", list(MODELS))
def test_prelu_at_zero_predicts_exactly_what_relu_did(make):
    model = MODELS[make]()
    x = x_like(model)
    expected = predict(model, x)
    before = [to_numpy(w) for w in model.weights]
    n_relus = len(relus(model))

    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)

    assert revived is not model
    assert not relus(revived)
    assert len(prelus(revived)) == n_relus
    np.testing.assert_allclose(predict(revived, x), expected, rtol=0, atol=1e-6)
    assert_weights_copied(model, revived)
    # The original is untouched.
    assert len(relus(model)) == n_relus and not prelus(model)
    for w, b in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(to_numpy(w), b)
    np.testing.assert_array_equal(predict(model, x), expected)


@pytest.mark.parametrize("make", list(MODELS))
def test_revived_model_saves_and_reloads(make, tmp_path):
    model = MODELS[make]()
    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)
    path = str(tmp_path / "revived.keras")
    revived.save(path)
    reloaded = keras.saving.load_model(path)
    x = x_like(model)
    np.testing.assert_array_equal(predict(reloaded, x), predict(revived, x))
    assert len(prelus(reloaded)) == len(prelus(revived))


def test_leaky_relu_changes_the_outputs_as_it_should():
    model = small_sequential()
    x = x_like(model)
    leaky = keras_leaky.replace_activations(model, {"relu": "leaky_relu"})
    hidden = keras.Model(model.inputs, model.get_layer("hidden").output)
    leaky_hidden = keras.Model(leaky.inputs, leaky.get_layer("hidden").output)
    pre_activation = x @ to_numpy(model.get_layer("hidden").kernel) + to_numpy(
        model.get_layer("hidden").bias
    )
    # Keras's "leaky_relu": slope 0.2.
    np.testing.assert_allclose(
        predict(leaky_hidden, x),
        np.where(pre_activation > 0, pre_activation, 0.2 * pre_activation),
        rtol=1e-5,
        atol=1e-6,
    )
    assert (predict(hidden, x) == 0).any()
    assert np.abs(predict(leaky, x) - predict(model, x)).max() > 1e-4
    assert not relus(leaky)
    assert leaky.get_layer("hidden").activation is keras.activations.leaky_relu
    assert isinstance(leaky.get_layer("act"), keras.layers.Activation)
    assert isinstance(leaky.get_layer("relu_layer"), keras.layers.Activation)


@pytest.mark.parametrize(
    "value",
    ["prelu", keras_leaky.PReLU, lambda: keras_leaky.PReLU()],
    ids=["name", "class", "factory"],
)
def test_every_form_of_replacement_gives_one_prelu_per_channel(value):
    model = small_sequential()
    revived = keras_leaky.replace_activations(model, {"relu": value})
    found = prelus(revived)
    assert len(found) == 3
    assert [tuple(p.alpha.shape) for p in found] == [(8,)] * 3
    assert len({id(p) for p in found}) == 3  # One PReLU each, none shared.
    assert revived.get_layer("act").name == "act"  # Standalone layers keep their names.


def test_layer_class_keys_replace_standalone_layers():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, name="d1"),
            keras.layers.LeakyReLU(negative_slope=0.3, name="keras_leaky_relu"),
            keras.layers.Dense(4, name="d2"),
            keras.layers.PReLU(name="keras_prelu"),
        ]
    )
    revived = keras_leaky.replace_activations(
        model, {keras.layers.LeakyReLU: keras_leaky.LeakyReLU, keras.layers.PReLU: "rrelu"}
    )
    assert isinstance(revived.get_layer("keras_leaky_relu"), keras_leaky.LeakyReLU)
    assert isinstance(revived.get_layer("keras_prelu"), keras_leaky.RReLU)
    x = x_like(model)
    d1 = keras.Model(revived.inputs, revived.get_layer("d1").output)
    z = predict(d1, x)
    after = keras.Model(revived.inputs, revived.get_layer("keras_leaky_relu").output)
    np.testing.assert_allclose(predict(after, x), np.where(z > 0, z, 0.2 * z), rtol=1e-6, atol=1e-7)


def test_channels_first_conv_gets_alphas_on_its_channel_axis():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((3, 8, 8))
    outputs = keras.layers.Conv2D(5, 3, data_format="channels_first", activation="relu")(inputs)
    model = keras.Model(inputs, outputs)
    revived = keras_leaky.replace_activations(model, {"relu": "prelu"})
    (alpha,) = [tuple(p.alpha.shape) for p in prelus(revived)]
    assert alpha == (5, 1, 1)


def test_not_plain_relus_are_left_with_a_warning():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, activation="relu", name="dense"),
            keras.layers.ReLU(max_value=6.0, name="relu6"),
            keras.layers.ReLU(threshold=0.5, name="thresholded"),
            keras.layers.ReLU(name="plain"),
        ]
    )
    with pytest.warns(
        UserWarning, match=r"not plain ReLU: relu6 \(ReLU\(max_value=6.0\)\), thresholded"
    ):
        revived = keras_leaky.replace_activations(model, {"relu": "prelu"})
    assert type(revived.get_layer("relu6")) is keras.layers.ReLU
    assert revived.get_layer("relu6").max_value == 6.0
    assert type(revived.get_layer("thresholded")) is keras.layers.ReLU
    assert isinstance(revived.get_layer("plain"), keras_leaky.PReLU)
    assert isinstance(revived.get_layer("dense").activation, keras_leaky.PReLU)


def test_dead_units_get_a_gradient_through_alpha():
    """A unit whose pre-activation is negative everywhere: ReLU passes it no
    gradient at all; PReLU at alpha = 0 passes `x * g` to alpha."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(
        2, activation="relu", bias_initializer=keras.initializers.Constant(-100.0)
    )
    model = keras.Model(inputs, dense(inputs))
    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)
    x = np.random.default_rng(4).uniform(-1, 1, (16, 3)).astype("float32")
    host = revived.layers[-1]
    kernel, bias = host.kernel, host.bias
    alpha = host.activation.alpha
    assert not np.any(predict(model, x))  # Dead: every output 0.

    def loss_of(kernel_value, bias_value, alpha_value):
        z = keras.ops.matmul(x, kernel_value) + bias_value
        return keras_leaky.ops.prelu(z, alpha_value)

    g_kernel, g_bias, g_alpha = grad(loss_of, to_numpy(kernel), to_numpy(bias), to_numpy(alpha))
    assert np.all(g_alpha < -1.0)  # sum of x * g over a batch of x near -100
    assert not np.any(g_kernel) and not np.any(g_bias)  # As ReLU: dead for these.


@pytest.mark.parametrize("policy", ["float64", "mixed_float16", "mixed_bfloat16"])
def test_dtype_policies_are_kept(policy):
    inputs = keras.Input((4,))
    x = keras.layers.Dense(4, activation="relu", dtype=policy, name="dense")(inputs)
    x = keras.layers.Activation("relu", dtype=policy, name="act")(x)
    model = keras.Model(inputs, x)
    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)
    assert revived.get_layer("act").dtype_policy.name == policy
    # The factory's PReLU computes as its host does, as a name's would.
    assert revived.get_layer("dense").activation.dtype_policy.name == policy
    x = x_like(model)
    np.testing.assert_allclose(predict(revived, x), predict(model, x), rtol=0, atol=1e-6)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3, activation="relu")

    def call(self, x):
        return self.dense(x)


def test_subclassed_model_raises_saying_why_and_what_to_do():
    model = Subclassed()
    model(np.zeros((1, 2), "float32"))
    with pytest.raises(ValueError, match="subclassed model.*Sequential or functional"):
        keras_leaky.replace_activations(model, PRELU_AT_ZERO)


def test_subclassed_model_nested_in_a_functional_one_raises():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, Subclassed()(inputs))
    with pytest.raises(ValueError, match="subclassed model"):
        keras_leaky.replace_activations(model, PRELU_AT_ZERO)


@pytest.mark.parametrize(
    "replacements, error, words",
    [
        ([("relu", "prelu")], TypeError, "replacements.*non-empty dict"),
        ({}, TypeError, "replacements.*non-empty dict"),
        ({"prelu": "relu"}, ValueError, "key.*Keras activation name.*'prelu'"),
        ({3: "prelu"}, ValueError, "key.*layer class.*3"),
        ({"relu": "no_such_activation"}, ValueError, "Valid names.*no_such_activation"),
        ({"relu": 3}, TypeError, "replacement for 'relu'.*Received: 3"),
        ({"relu": keras.layers.Dense}, TypeError, "keras-leaky layer class"),
    ],
    ids=["list", "empty", "leaky_key", "int_key", "unknown_name", "int_value", "other_class"],
)
def test_bad_replacements_raise_naming_them(replacements, error, words):
    with pytest.raises(error, match=words):
        keras_leaky.replace_activations(small_sequential(), replacements)


def test_not_a_model_raises():
    with pytest.raises(TypeError, match="model.*keras.Model"):
        keras_leaky.replace_activations(keras.layers.Dense(2), PRELU_AT_ZERO)


def test_factory_returning_no_layer_raises():
    with pytest.raises(TypeError, match="must return a new keras.layers.Layer"):
        keras_leaky.replace_activations(small_sequential(), {"relu": lambda: "prelu"})


def test_resnet50_revived_with_prelu_at_zero():
    """The issue's own case: a keras.applications backbone, 49 ReLUs in blocks with merges."""
    keras.utils.set_random_seed(5)
    model = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
    n_relus = len(relus(model))
    assert n_relus == 49
    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)
    x = x_like(model, n=4)
    expected = predict(model, x)
    np.testing.assert_allclose(predict(revived, x), expected, rtol=0, atol=1e-6)
    assert not relus(revived)
    found = prelus(revived)
    assert len(found) == n_relus
    for prelu in found:  # One alpha per channel of the tensor it follows, all at 0.
        assert tuple(prelu.alpha.shape) == (prelu.input.shape[-1],)
        assert not np.any(to_numpy(prelu.alpha))
    assert_weights_copied(model, revived)


def test_trained_keras_leaky_activations_that_stay_keep_their_weights():
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, activation="prelu", name="kept"),
            keras.layers.Dense(4, activation="relu", name="replaced"),
        ]
    )
    model.get_layer("kept").activation.alpha.assign(np.full((4,), 0.7, "float32"))
    revived = keras_leaky.replace_activations(model, {"relu": "rrelu"})
    kept = revived.get_layer("kept").activation
    np.testing.assert_array_equal(to_numpy(kept.alpha), np.full((4,), 0.7, "float32"))
    assert kept is not model.get_layer("kept").activation
    assert isinstance(revived.get_layer("replaced").activation, keras_leaky.RReLU)
    x = x_like(model)
    np.testing.assert_allclose(
        predict(keras.Model(revived.inputs, revived.get_layer("kept").output), x),
        predict(keras.Model(model.inputs, model.get_layer("kept").output), x),
        rtol=0,
        atol=1e-6,
    )


def test_relu_instance_given_as_activation_is_replaced():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation=keras.layers.ReLU(), name="dense")]
    )
    revived = keras_leaky.replace_activations(model, {"relu": "prelu"})
    assert isinstance(revived.get_layer("dense").activation, keras_leaky.PReLU)


def test_a_key_that_matches_nothing_is_named_in_a_warning():
    with pytest.warns(UserWarning, match=r"nothing to replace for 'elu'"):
        revived = keras_leaky.replace_activations(
            small_sequential(), {"relu": "prelu", "elu": "prelu"}
        )
    assert not relus(revived)


def test_a_compiled_model_is_copied_compiled_with_a_new_optimizer():
    model = small_sequential()
    model.compile(optimizer="adam", loss="mse")
    revived = keras_leaky.replace_activations(model, PRELU_AT_ZERO)
    assert revived.compiled and revived.optimizer is not model.optimizer
