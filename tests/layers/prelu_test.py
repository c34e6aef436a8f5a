"""Tests for `keras_leaky.PReLU`."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_leaky import PReLU
from tests.backend_utils import make_x
from tests.harness import run_layer_test

SHARED_AXES_ERROR = r"shared_axes.*Received:"


def reference(x, alpha):
    return np.where(x > 0, x, alpha * x)


def alpha_shape(layer, input_shape):
    layer.build(input_shape)
    return tuple(layer.alpha.shape)


# `alpha` is the initial alpha, for the expected output (None: random, only the shape is
# checked). The compiled (jit) fit is slow on torch (torch.compile); once per layer is enough.
@pytest.mark.parametrize(
    "init_kwargs, input_shape, alpha, num_losses, run_jit_check",
    [
        pytest.param({}, (2, 4, 5, 3), 0.25, 0, True, id="default"),
        pytest.param({}, (2, 4, 3), 0.25, 0, False, id="rank_3"),
        pytest.param({"shared_axes": "all"}, (2, 4, 5, 3), 0.25, 0, False, id="scalar"),
        pytest.param({"shared_axes": [1, 2]}, (2, 4, 5, 3), 0.25, 0, False, id="shared_1_2"),
        pytest.param({"shared_axes": []}, (2, 4, 3), 0.25, 0, False, id="per_element"),
        pytest.param(
            {"data_format": "channels_first"}, (2, 3, 4, 5), 0.25, 0, False, id="channels_first"
        ),
        pytest.param(
            {"alpha_initializer": "glorot_uniform"}, (2, 4, 3), None, 0, False, id="glorot"
        ),
        pytest.param(
            {"alpha_regularizer": "l2", "alpha_constraint": "non_neg", "alpha_initializer": 0.1},
            (2, 4, 3),
            0.1,
            1,
            False,
            id="regularized",
        ),
    ],
)
def test_layer_basics(init_kwargs, input_shape, alpha, num_losses, run_jit_check):
    x = make_x(input_shape, specials=False)
    expected = None if alpha is None else reference(x, alpha)
    run_layer_test(
        PReLU,
        init_kwargs,
        input_data=x,
        expected_output=expected,
        expected_output_shape=input_shape if expected is None else None,
        expected_num_trainable_weights=1,
        expected_num_losses=num_losses,
        run_jit_check=run_jit_check,
    )


def test_alpha_starts_at_a_quarter():
    layer = PReLU()
    layer.build((None, 4, 5, 3))
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.alpha), np.full((3,), 0.25))
    x = np.array([[-4.0, 2.0]], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(PReLU()(x)), [[-1.0, 2.0]])


def test_negative_and_zero_alpha_initializers_are_allowed():
    x = np.array([[-2.0, 3.0]], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(PReLU(alpha_initializer=-0.5)(x)), [[1, 3]])
    np.testing.assert_allclose(ops.convert_to_numpy(PReLU(alpha_initializer=0)(x)), [[0, 3]])


def test_matches_numpy_reference_per_channel():
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype("float32")
    layer = PReLU(data_format="channels_last")
    layer.build(x.shape)
    alpha = np.array([-0.5, 0.0, 1.5], "float32")
    layer.alpha.assign(alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), reference(x, alpha), rtol=1e-6)


def test_one_alpha_per_channel_channels_last():
    assert alpha_shape(PReLU(data_format="channels_last"), (None, 8, 8, 3)) == (3,)
    assert alpha_shape(PReLU(data_format="channels_last"), (None, 10, 7)) == (7,)
    assert alpha_shape(PReLU(data_format="channels_last"), (None, 5)) == (5,)


def test_one_alpha_per_channel_channels_first():
    layer = PReLU(data_format="channels_first")
    assert alpha_shape(layer, (None, 3, 8, 8)) == (3, 1, 1)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")
    alpha = np.array([0.1, 0.2, 0.3], "float32").reshape(3, 1, 1)
    layer.alpha.assign(alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), reference(x, alpha), rtol=1e-6)


def test_default_data_format_follows_keras_config():
    layer = PReLU()
    assert layer.data_format == keras.config.image_data_format()
    assert layer.get_config()["data_format"] == keras.config.image_data_format()


@pytest.mark.parametrize(
    "data_format, input_shape, batches",
    [
        ("channels_last", (None, None, 3), [(2, 5, 7, 3), (1, 9, 4, 3)]),
        ("channels_first", (3, None, None), [(2, 3, 5, 7), (1, 3, 9, 4)]),
    ],
)
def test_variable_spatial_sizes(data_format, input_shape, batches):
    inputs = keras.Input(input_shape)
    model = keras.Model(inputs, PReLU(data_format=data_format)(inputs))
    assert model.count_params() == 3
    rng = np.random.default_rng(0)
    for shape in batches:
        x = rng.standard_normal(shape).astype("float32")
        output = model.predict(x, verbose=0)
        np.testing.assert_allclose(output, reference(x, 0.25), rtol=1e-6)


def test_variable_spatial_sizes_in_a_trained_convnet():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = PReLU()(x)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    for size in (6, 9):
        x = rng.standard_normal((2, size, size, 3)).astype("float32")
        model.fit(x, np.zeros((2, 1), "float32"), verbose=0)


def test_param_count_does_not_depend_on_image_size():
    counts = set()
    for size in (8, 32, 224):
        layer = PReLU(data_format="channels_last")
        layer.build((None, size, size, 16))
        counts.add(layer.count_params())
    assert counts == {16}


def test_shared_axes_all_is_a_scalar():
    layer = PReLU(shared_axes="all")
    assert alpha_shape(layer, (None, 4, 5, 3)) == (1,)  # As PyTorch's PReLU() weight.
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), reference(x, 0.25), rtol=1e-6)
    # A scalar alpha works for any input shape, unknown sizes included.
    inputs = keras.Input((None, None))
    assert tuple(PReLU(shared_axes="all")(inputs).shape) == (None, None, None)


@pytest.mark.parametrize(
    "shared_axes, input_shape",
    [
        ([1, 2], (None, 4, 5, 3)),
        ([1], (None, 4, 5, 3)),
        ([2, 3], (None, 4, 5, 3)),
        ([1], (None, 6, 2)),
        ([], (None, 4, 5, 3)),
        ([], (None, 6, 2)),
    ],
)
def test_shared_axes_list_matches_keras_prelu(shared_axes, input_shape):
    ours = PReLU(shared_axes=shared_axes)
    theirs = keras.layers.PReLU(shared_axes=shared_axes or None)
    assert alpha_shape(ours, input_shape) == alpha_shape(theirs, input_shape)
    rng = np.random.default_rng(0)
    alpha = rng.uniform(-1.0, 1.0, size=tuple(ours.alpha.shape)).astype("float32")
    ours.alpha.assign(alpha)
    theirs.alpha.assign(alpha)
    x = rng.standard_normal((2, *input_shape[1:])).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(ours(x)), ops.convert_to_numpy(theirs(x)), rtol=1e-6, atol=1e-7
    )


def test_empty_shared_axes_is_one_alpha_per_element():
    assert alpha_shape(PReLU(shared_axes=[]), (None, 4, 5, 3)) == (4, 5, 3)


@pytest.mark.parametrize(
    "negative, positive",
    [([-3, -2], [1, 2]), ([-1], [3]), (-1, [3]), ([-3], [1]), (2, [2])],
)
def test_negative_and_int_shared_axes(negative, positive):
    input_shape = (None, 4, 5, 3)
    assert alpha_shape(PReLU(shared_axes=negative), input_shape) == alpha_shape(
        PReLU(shared_axes=positive), input_shape
    )


def test_shared_axes_tuple_is_stored_as_list():
    config = PReLU(shared_axes=(1, 2)).get_config()
    assert config["shared_axes"] == [1, 2]


@pytest.mark.parametrize(
    "input_shape, data_format",
    [
        ((4, None), "channels_last"),
        ((None, None, None), "channels_last"),
        ((None, 8, 8), "channels_first"),
    ],
)
def test_unknown_channel_size_raises(input_shape, data_format):
    with pytest.raises(ValueError, match="Received:"):
        PReLU(data_format=data_format)(keras.Input(input_shape))


def test_unknown_size_on_a_per_element_axis_raises():
    with pytest.raises(ValueError, match="Received:"):
        PReLU(shared_axes=[1])(keras.Input((None, None, 3)))


def test_rank_1_input_without_channels_raises():
    with pytest.raises(ValueError, match="rank.*Received:"):
        PReLU().build((4,))


@pytest.mark.parametrize("shared_axes", [[4], [-4], [1, 5]])
def test_out_of_range_shared_axes_raise_at_build(shared_axes):
    with pytest.raises(ValueError, match=SHARED_AXES_ERROR):
        PReLU(shared_axes=shared_axes).build((None, 4, 5, 3))


@pytest.mark.parametrize(
    "shared_axes", [0, [0], [1, 0], "none", "ALL", [1.5], 1.0, True, [True], {1: 2}, [[1]]]
)
def test_rejects_bad_shared_axes(shared_axes):
    with pytest.raises(ValueError, match=SHARED_AXES_ERROR):
        PReLU(shared_axes=shared_axes)


@pytest.mark.parametrize("data_format", ["channels_middle", "NHWC", "CHANNELS_LAST", 1])
def test_rejects_unknown_data_format(data_format):
    with pytest.raises(ValueError, match=r"data_format.*Received:"):
        PReLU(data_format=data_format)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_rejects_non_finite_alpha_initializer(value):
    with pytest.raises(ValueError, match=r"alpha_initializer.*Received:"):
        PReLU(alpha_initializer=value)


@pytest.mark.parametrize("value", ["0.25", "not_an_initializer", True])
def test_rejects_bad_alpha_initializer_naming_the_argument(value):
    with pytest.raises((TypeError, ValueError), match=r"alpha_initializer.*Received:"):
        PReLU(alpha_initializer=value)


def test_initializer_regularizer_constraint_survive_config():
    layer = PReLU(
        alpha_initializer=keras.initializers.Constant(0.1),
        alpha_regularizer=keras.regularizers.L2(0.01),
        alpha_constraint=keras.constraints.NonNeg(),
    )
    revived = PReLU.from_config(layer.get_config())
    assert isinstance(revived.alpha_initializer, keras.initializers.Constant)
    assert isinstance(revived.alpha_regularizer, keras.regularizers.L2)
    assert isinstance(revived.alpha_constraint, keras.constraints.NonNeg)
    revived.build((None, 3))
    np.testing.assert_allclose(ops.convert_to_numpy(revived.alpha), [0.1, 0.1, 0.1])
    assert len(revived.losses) == 1


def test_absurd_alpha_count_raises_before_allocating():
    layer = PReLU(shared_axes=[])
    with pytest.raises(ValueError, match=r"1000000000000 alphas.*shared_axes"):
        layer.build((None, 10**6, 10**6))
    assert not layer.built and not layer.weights


@pytest.mark.parametrize("input_shape", [(None, "3"), (None, 3.0), (None, -2), (None, True)])
def test_malformed_input_shape_raises(input_shape):
    with pytest.raises(ValueError, match="input_shape"):
        PReLU().build(input_shape)


@pytest.mark.parametrize("value", [3.5e38, -1e39])
def test_rejects_alpha_initializer_beyond_float32(value):
    with pytest.raises(ValueError, match="alpha_initializer.*float32"):
        PReLU(alpha_initializer=value)


def test_rejects_none_alpha_initializer():
    with pytest.raises(TypeError, match="alpha_initializer"):
        PReLU(alpha_initializer=None)


def test_rejects_more_shared_axes_than_any_input_has_axes_at_construction():
    # A tampered config with 10**5 axes once took minutes (quadratic) at build.
    with pytest.raises(ValueError, match=r"shared_axes.*at most 254.*Received: a list of 100000"):
        PReLU(shared_axes=[1] * 10**5)


@pytest.mark.parametrize("shared_axes", [[254], [-254], [1, 10**9]])
def test_rejects_axes_beyond_any_rank_at_construction(shared_axes):
    with pytest.raises(ValueError, match=SHARED_AXES_ERROR):
        PReLU(shared_axes=shared_axes)


@pytest.mark.parametrize(
    "init_kwargs", [{}, {"shared_axes": []}, {"data_format": "channels_first"}]
)
def test_input_rank_beyond_the_limit_raises_before_any_work(init_kwargs):
    # Rank 20000 with one alpha per element crashed JAX; channels_first was quadratic.
    layer = PReLU(**init_kwargs)
    with pytest.raises(ValueError, match=r"input_shape.*at most 254 axes.*rank 20000"):
        layer.build((None,) + (1,) * 19998 + (3,))
    assert not layer.built and not layer.weights
    with pytest.raises(ValueError, match="input_shape.*at most 254 axes"):
        layer.compute_output_shape((None,) * 255)


def test_rank_254_is_accepted():
    layer = PReLU(shared_axes=[])
    layer.build((None,) + (1,) * 252 + (3,))
    assert tuple(layer.alpha.shape) == (1,) * 252 + (3,)


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_rejects_alpha_initializer_beyond_a_float(value):
    with pytest.raises(ValueError, match="alpha_initializer.*Received:"):
        PReLU(alpha_initializer=value)


def test_complex_input_raises_naming_the_dtype():
    with pytest.raises(TypeError, match="complex64"):
        PReLU()(np.array([[-1 + 2j, 3 - 1j]], "complex64"))
