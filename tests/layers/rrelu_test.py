"""Tests for `keras_leaky.RReLU`."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_leaky import LeakyReLU, RReLU
from tests.backend_utils import BAD_NONNEGATIVE_NUMBERS as BAD_BOUNDS
from tests.backend_utils import make_x, to_numpy
from tests.harness import FLOAT_DTYPES, run_layer_test


def data(shape=(4, 16), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def numpy(x):
    return ops.convert_to_numpy(ops.cast(x, "float32"))


# `slope` is the slope of every negative input, for the expected output (None: random, only
# the shape is checked). The compiled (jit) fit is slow on torch (torch.compile); once per layer
# is enough.
@pytest.mark.parametrize(
    "init_kwargs, call_kwargs, slope, run_jit_check",
    [
        pytest.param({"seed": 1}, {}, (1 / 8 + 1 / 3) / 2, True, id="inference"),
        pytest.param({}, {"training": True}, None, False, id="training"),
        pytest.param({"lower": 0.1, "upper": 0.3, "seed": 7}, {}, 0.2, False, id="0.1_0.3"),
        pytest.param(
            {"lower": 0.2, "upper": 0.2}, {"training": True}, 0.2, False, id="training_0.2_0.2"
        ),
    ],
)
def test_layer_basics(init_kwargs, call_kwargs, slope, run_jit_check):
    x = make_x((2, 3, 4), specials=False)
    expected = None if slope is None else np.where(x > 0, x, slope * x)
    run_layer_test(
        RReLU,
        init_kwargs,
        input_data=x,
        call_kwargs=call_kwargs,
        expected_output=expected,
        expected_output_shape=x.shape if expected is None else None,
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
        expected_num_losses=0,
        run_jit_check=run_jit_check,
        assert_built_after_instantiation=True,
    )


def test_defaults_are_pytorch_bounds():
    layer = RReLU()
    assert layer.lower == 1.0 / 8.0
    assert layer.upper == 1.0 / 3.0
    assert layer.seed is None
    config = layer.get_config()
    assert (config["lower"], config["upper"], config["seed"]) == (1.0 / 8.0, 1.0 / 3.0, None)


@pytest.mark.parametrize("argument", ["lower", "upper"])
@pytest.mark.parametrize("value, error", BAD_BOUNDS)
def test_rejects_bad_bounds(argument, value, error):
    with pytest.raises(error, match=rf"{argument}.*Received:"):
        RReLU(**{argument: value})


@pytest.mark.parametrize("lower, upper", [(0.5, 0.2), (0.3, 0.0), (1.0, 0.999)])
def test_rejects_lower_above_upper(lower, upper):
    with pytest.raises(ValueError, match=r"lower.*upper.*Received:"):
        RReLU(lower=lower, upper=upper)


@pytest.mark.parametrize("seed", [True, False, 1.5, "1", [1]])
def test_rejects_bad_seed(seed):
    with pytest.raises(TypeError, match=r"seed.*Received:"):
        RReLU(seed=seed)


@pytest.mark.parametrize("seed", [-1, 2**31, 2**70])
def test_rejects_seed_out_of_every_backends_range(seed):
    with pytest.raises(ValueError, match=r"seed.*\[0, 2147483647\].*Received:"):
        RReLU(seed=seed)


def test_largest_seed_works():
    y = RReLU(seed=2**31 - 1)(np.full((4,), -1.0, "float32"), training=True)
    assert np.all((to_numpy(y) <= -1 / 8) & (to_numpy(y) >= -1 / 3))


@pytest.mark.parametrize("lower, upper", [(1.0 / 8.0, 1.0 / 3.0), (0.1, 0.3), (0.0, 1.0)])
def test_inference_equals_leaky_relu_at_the_mean_slope(lower, upper):
    x = data()
    expected = numpy(LeakyReLU((lower + upper) / 2.0)(x))
    layer = RReLU(lower, upper, seed=0)
    np.testing.assert_array_equal(numpy(layer(x)), expected)
    np.testing.assert_array_equal(numpy(layer(x, training=False)), expected)


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0])
def test_training_with_lower_equal_upper_equals_leaky_relu(slope):
    x = data()
    output = RReLU(slope, slope, seed=0)(x, training=True)
    np.testing.assert_allclose(numpy(output), numpy(LeakyReLU(slope)(x)), rtol=1e-7, atol=0)


def test_training_slopes_are_per_element_and_within_bounds():
    lower, upper = 0.1, 0.3
    x = -np.abs(data((64, 64))) - 0.1  # Strictly negative: every element shows its slope.
    slopes = numpy(RReLU(lower, upper, seed=0)(x, training=True)) / x
    assert slopes.min() >= lower - 1e-6 and slopes.max() <= upper + 1e-6
    assert np.unique(slopes).size > 1000
    assert abs(slopes.mean() - (lower + upper) / 2.0) < 0.01


def test_training_leaves_positive_inputs_unchanged():
    x = np.abs(data()) + 0.1
    np.testing.assert_array_equal(numpy(RReLU(seed=0)(x, training=True)), x)


def test_successive_training_calls_draw_new_noise():
    layer = RReLU(seed=0)
    x = data()
    first = numpy(layer(x, training=True))
    second = numpy(layer(x, training=True))
    assert not np.array_equal(first, second)


def test_same_seed_gives_the_same_draws():
    x = data()
    a, b = RReLU(seed=42), RReLU(seed=42)
    for _ in range(2):
        np.testing.assert_array_equal(numpy(a(x, training=True)), numpy(b(x, training=True)))
    c = RReLU(seed=43)
    assert not np.array_equal(numpy(RReLU(seed=42)(x, training=True)), numpy(c(x, training=True)))


def test_config_round_trip_keeps_the_seed_and_its_draws():
    x = data()
    layer = RReLU(lower=0.1, upper=0.4, seed=5)
    revived = RReLU.from_config(layer.get_config())
    assert revived.seed == 5
    np.testing.assert_array_equal(numpy(layer(x, training=True)), numpy(revived(x, training=True)))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_training_dtypes(dtype):
    x = -np.abs(data()) - 0.1
    output = RReLU(0.1, 0.3, seed=0, dtype=dtype)(x, training=True)
    assert keras.backend.standardize_dtype(output.dtype) == dtype
    slopes = numpy(output) / x
    assert slopes.min() >= 0.1 - 1e-2 and slopes.max() <= 0.3 + 1e-2


def inference_targets(x, layer):
    return numpy(LeakyReLU((layer.lower + layer.upper) / 2.0)(x))


def test_predict_and_evaluate_are_deterministic_inference():
    x = data((8, 16))
    layer = RReLU(seed=0)
    inputs = keras.Input((16,))
    model = keras.Model(inputs, layer(inputs))
    model.compile(loss="mse")
    targets = inference_targets(x, layer)
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    np.testing.assert_allclose(first, targets, rtol=1e-6)
    assert model.evaluate(x, targets, verbose=0) == pytest.approx(0.0, abs=1e-12)
    assert model.evaluate(x, targets, verbose=0) == pytest.approx(0.0, abs=1e-12)
    noisy = numpy(model(x, training=True))
    assert not np.allclose(noisy, targets)


@pytest.mark.parametrize("jit_compile", ["auto", True])
def test_fit_is_noisy_with_new_noise_every_step(jit_compile):
    """`fit` sees noise, drawn afresh on every (compiled) step; `evaluate` sees none.

    The only weights (an identity `Dense`) never move (learning rate 0), so the training loss
    against the inference output measures the noise alone: positive, and different per epoch
    unless the noise is frozen into the compiled step.
    """
    x = data((8, 16))
    layer = RReLU(seed=0)
    inputs = keras.Input((16,))
    outputs = keras.layers.Dense(16, use_bias=False, kernel_initializer="identity")(layer(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=jit_compile)
    targets = inference_targets(x, layer)
    losses = model.fit(x, targets, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    assert min(losses) > 1e-6, losses
    assert len(set(losses)) == 3, losses
    assert model.evaluate(x, targets, batch_size=8, verbose=0) < 1e-10


class Block(keras.layers.Layer):
    """A custom layer whose `call` takes no `training` argument and calls an RReLU."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.act = RReLU(seed=0)

    def call(self, x):
        return self.act(x)


def test_training_flag_reaches_a_nested_rrelu():
    x = data()
    block = Block()
    targets = inference_targets(x, block.act)
    np.testing.assert_array_equal(numpy(block(x)), targets)
    assert not np.allclose(numpy(block(x, training=True)), targets)

    inputs = keras.Input((16,))
    model = keras.Model(inputs, Block()(inputs))
    np.testing.assert_array_equal(numpy(model(x)), targets)
    np.testing.assert_array_equal(model.predict(x, verbose=0), targets)
    assert not np.allclose(numpy(model(x, training=True)), targets)


def test_training_flag_reaches_rrelu_used_as_an_activation():
    x = data()
    act = RReLU(seed=0)
    dense = keras.layers.Dense(16, activation=act, use_bias=False, kernel_initializer="identity")
    targets = inference_targets(x, act)
    np.testing.assert_allclose(numpy(dense(x)), targets, rtol=1e-6)
    assert not np.allclose(numpy(dense(x, training=True)), targets)


@pytest.mark.parametrize("argument", ["lower", "upper"])
def test_rejects_a_bound_beyond_a_float_naming_it(argument):
    with pytest.raises(ValueError, match=rf"{argument}.*Received:"):
        RReLU(**{"lower": 0.1, "upper": 10**401, argument: 10**400})


def test_rejects_bounds_whose_sum_overflows():
    """Accepted before, then every inference call failed on `negative_slope=inf`."""
    with pytest.raises(ValueError, match=r"`lower` and `upper`.*finite sum.*Received:"):
        RReLU(lower=1e308, upper=1.7e308)


@pytest.mark.parametrize("training", [False, True])
def test_complex_input_raises_naming_the_dtype(training):
    with pytest.raises(TypeError, match="complex64"):
        RReLU(seed=0)(np.array([-1 + 2j, 3 - 1j], "complex64"), training=training)


def test_input_rank_beyond_the_limit_raises():
    with pytest.raises(ValueError, match="input_shape.*at most 254 axes"):
        RReLU()(keras.Input((1,) * 254))
