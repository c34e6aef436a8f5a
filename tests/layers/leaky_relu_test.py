"""Tests for `keras_leaky.LeakyReLU`."""

import keras
import numpy as np
import pytest

from keras_leaky import LeakyReLU
from tests.backend_utils import BAD_NONNEGATIVE_NUMBERS as BAD_SLOPES
from tests.backend_utils import make_x
from tests.harness import run_layer_test


def reference(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x)


# The compiled (jit) fit is slow on torch (torch.compile); once per layer is enough.
@pytest.mark.parametrize(
    "init_kwargs, negative_slope, run_jit_check",
    [
        pytest.param({}, 0.2, True, id="default"),
        pytest.param({"negative_slope": 0}, 0, False, id="relu"),
        pytest.param({"negative_slope": 0.1}, 0.1, False, id="0.1"),
    ],
)
def test_layer_basics(init_kwargs, negative_slope, run_jit_check):
    x = make_x((2, 3, 4), specials=False)
    run_layer_test(
        LeakyReLU,
        init_kwargs,
        input_data=x,
        expected_output=reference(x, negative_slope),
        expected_num_trainable_weights=0,
        expected_num_losses=0,
        run_jit_check=run_jit_check,
        assert_built_after_instantiation=True,
    )


def test_default_slope_is_keras_leaky_relu_activation_slope():
    layer = LeakyReLU()
    assert layer.negative_slope == 0.2
    assert layer.get_config()["negative_slope"] == 0.2
    x = np.array([-2.0, -0.5, 0.0, 3.0], "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), [-0.4, -0.1, 0.0, 3.0])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)),
        keras.ops.convert_to_numpy(keras.activations.leaky_relu(x)),
    )


@pytest.mark.parametrize("negative_slope", [0.0, 0.01, 0.3, 1.0, 2.5])
def test_matches_numpy_reference(negative_slope):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    output = keras.ops.convert_to_numpy(LeakyReLU(negative_slope)(x))
    np.testing.assert_allclose(output, reference(x, negative_slope), rtol=1e-6)


def test_identities():
    x = np.random.default_rng(0).standard_normal((3, 7)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(LeakyReLU(0.0)(x)),
        keras.ops.convert_to_numpy(keras.ops.relu(x)),
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(LeakyReLU(1.0)(x)), x)


def test_integer_inputs_are_cast_to_floatx():
    output = LeakyReLU(0.5)(np.array([-2, 0, 3], "int32"))
    assert keras.backend.standardize_dtype(output.dtype) == keras.config.floatx()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output), [-1.0, 0.0, 3.0])


def test_has_no_state():
    layer = LeakyReLU()
    assert layer.built
    assert layer.weights == [] and layer.variables == []


@pytest.mark.parametrize("value, error", BAD_SLOPES)
def test_rejects_bad_negative_slope(value, error):
    with pytest.raises(error, match=r"negative_slope.*Received:"):
        LeakyReLU(negative_slope=value)


@pytest.mark.parametrize("value, error", BAD_SLOPES)
def test_rejects_bad_legacy_alpha(value, error):
    with pytest.raises(error, match="Received:"):
        LeakyReLU(alpha=value)


def test_legacy_alpha_is_stored_as_negative_slope():
    layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    config = layer.get_config()
    assert config["negative_slope"] == 0.1
    assert "alpha" not in config
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(np.array([-1.0]))), [-0.1])


def test_legacy_keras2_config_loads():
    layer = LeakyReLU.from_config({"name": "old", "trainable": True, "alpha": 0.3})
    assert layer.negative_slope == 0.3
    assert layer.name == "old"


def test_both_spellings_raise():
    with pytest.raises(ValueError, match=r"negative_slope.*alpha.*Received:"):
        LeakyReLU(negative_slope=0.1, alpha=0.3)


def test_legacy_alpha_is_taken_when_negative_slope_is_the_default_value():
    # As Keras's own LeakyReLU, which pops `alpha` from its kwargs: a default-valued
    # `negative_slope` cannot be told apart from an omitted one.
    assert LeakyReLU(negative_slope=0.2, alpha=0.1).negative_slope == 0.1


@pytest.mark.parametrize("argument", ["negative_slope", "alpha"])
def test_rejects_a_slope_beyond_a_float_naming_it(argument):
    with pytest.raises(ValueError, match=r"negative_slope.*Received:"):
        LeakyReLU(**{argument: 10**400})


def test_complex_input_raises_naming_the_dtype():
    with pytest.raises(TypeError, match="complex64"):
        LeakyReLU()(np.array([-1 + 2j, 3 - 1j], "complex64"))


def test_input_rank_beyond_the_limit_raises():
    with pytest.raises(ValueError, match="input_shape.*at most 254 axes"):
        LeakyReLU()(keras.Input((1,) * 254))
