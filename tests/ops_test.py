"""Correctness of `keras_leaky.ops` against PyTorch, on the current backend.

PyTorch (CPU, float32) is the reference for outputs and gradients, including
`x = 0`, `-0.0`, NaN and +-inf. Run once per backend:
`KERAS_BACKEND=tensorflow|jax|torch python -m pytest tests/ops_test.py`.
"""

import keras
import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F

from keras_leaky import ops as leaky_ops
from keras_leaky._validation import MAX_RANK
from tests.backend_utils import (
    BAD_NONNEGATIVE_NUMBERS,
    SPECIALS,
    TOLERANCE,
    grad,
    make_x,
    to_numpy,
)
from tests.harness import FLOAT_DTYPES

SLOPES = [0.0, 0.01, 0.2, 0.5, 1.0, 2.0]
# RReLU bounds: PyTorch's defaults, degenerate ones (slope 0 and 1), wide ones.
BOUNDS = [(1 / 8, 1 / 3), (0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.3, 2.0)]


def make_upstream(x, seed=100):
    return np.random.default_rng(seed).standard_normal(np.shape(x)).astype(np.float32)


def torch_reference(fn, *args, upstream):
    """Output of `fn` on float32 torch tensors and its gradients w.r.t. `args`."""
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    y = fn(*ts)
    grads = torch.autograd.grad((y * torch.from_numpy(upstream)).sum(), ts)
    return y.detach().numpy(), [g.numpy() for g in grads]


def assert_close(actual, expected):
    """Values within float32's tolerance; NaN positions must match exactly."""
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    tol = TOLERANCE["float32"]
    np.testing.assert_allclose(actual.astype(np.float32), expected, tol, tol, equal_nan=True)


def assert_same_sign_bits(actual, expected):
    """Sign bits match wherever the reference is not NaN (-0.0 vs 0.0 included)."""
    keep = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(actual[keep]), np.signbit(expected[keep]))


# --- Against PyTorch: outputs and gradients ----------------------------------


@pytest.mark.parametrize("specials", [False, True], ids=["random", "specials"])
@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_matches_torch(slope, specials):
    x = make_x((64,), seed=1, specials=specials)
    upstream = make_upstream(x)
    expected, (expected_dx,) = torch_reference(
        lambda t: F.leaky_relu(t, slope), x, upstream=upstream
    )

    y = to_numpy(leaky_ops.leaky_relu(x, slope))
    (dx,) = grad(lambda t: leaky_ops.leaky_relu(t, slope), x, upstream=upstream)

    assert_close(y, expected)
    assert_same_sign_bits(y, expected)
    assert_close(dx, expected_dx)


def test_leaky_relu_gradient_at_zero_is_slope():
    # PyTorch's (and TensorFlow's) convention; `jax.nn.leaky_relu` gives 1.
    x = np.array([0.0, -0.0], np.float32)
    (dx,) = grad(lambda t: leaky_ops.leaky_relu(t, 0.3), x)
    np.testing.assert_array_equal(dx, np.float32(0.3))


PRELU_ALPHAS = {
    # One per channel; as many channels as SPECIALS (see the test).
    "per_channel": np.array(
        [0.25, -0.5, 0.0, 1.0, 2.0, 0.1, -1.0, 0.7, 0.0, 0.5, -0.25, 0.3, 1.5], np.float32
    ),
    "scalar": np.float32(0.25),
    "scalar_negative": np.float32(-0.3),
    "scalar_zero": np.float32(0.0),
}


@pytest.mark.parametrize("specials", [False, True], ids=["random", "specials"])
@pytest.mark.parametrize("alpha_kind", list(PRELU_ALPHAS))
def test_prelu_matches_torch(alpha_kind, specials):
    alpha = np.asarray(PRELU_ALPHAS[alpha_kind])
    x = make_x((2, 3, 4, len(SPECIALS)), seed=2, specials=False)  # (N, H, W, C)
    if specials:
        # One special value per channel, so that one NaN does not hide what the
        # others do to that channel's alpha gradient (e.g. 0 * inf at x = +inf).
        x[0, 1, 2, :] = SPECIALS
    upstream = make_upstream(x)

    def torch_prelu(t, weight):
        # F.prelu is channel-first: NHWC -> NCHW -> NHWC.
        return F.prelu(t.permute(0, 3, 1, 2), weight).permute(0, 2, 3, 1)

    expected, (expected_dx, expected_dalpha) = torch_reference(
        torch_prelu, x, alpha.reshape(-1), upstream=upstream
    )

    y = to_numpy(leaky_ops.prelu(x, alpha))
    dx, dalpha = grad(leaky_ops.prelu, x, alpha, upstream=upstream)

    assert_close(y, expected)
    if keras.backend.backend() == "tensorflow":
        # TensorFlow's form, relu(x) + (-alpha) * relu(-x), is what TFLite maps
        # to PRELU; it gives +0.0 where PyTorch gives -0.0 (x < 0 with alpha 0,
        # or a subnormal product that TensorFlow flushes to zero).
        normal = np.abs(expected) >= np.finfo(np.float32).tiny
        assert_same_sign_bits(y[normal], expected[normal])
    else:
        assert_same_sign_bits(y, expected)
    assert_close(dx, expected_dx)
    assert_close(dalpha, expected_dalpha.reshape(alpha.shape))


def test_prelu_alpha_gradient_is_zero_at_positive_infinity():
    x = np.array([np.inf, 2.0, -3.0], np.float32)
    _, dalpha = grad(leaky_ops.prelu, x, np.array([0.5, 0.5, 0.5], np.float32))
    np.testing.assert_array_equal(dalpha, [0.0, 0.0, -3.0])


@pytest.mark.parametrize("specials", [False, True], ids=["random", "specials"])
@pytest.mark.parametrize("lower,upper", BOUNDS)
def test_rrelu_inference_matches_torch(lower, upper, specials):
    x = make_x((64,), seed=3, specials=specials)
    upstream = make_upstream(x)
    expected, (expected_dx,) = torch_reference(
        lambda t: F.rrelu(t, lower, upper, training=False), x, upstream=upstream
    )

    y = to_numpy(leaky_ops.rrelu(x, lower, upper, training=False))
    (dx,) = grad(lambda t: leaky_ops.rrelu(t, lower, upper), x, upstream=upstream)

    assert_close(y, expected)
    assert_same_sign_bits(y, expected)
    assert_close(dx, expected_dx)


def test_rrelu_defaults_match_torch():
    x = make_x((64,), seed=4)
    expected = F.rrelu(torch.from_numpy(x), training=False).numpy()
    assert_close(to_numpy(leaky_ops.rrelu(x)), expected)


# --- Identities ---------------------------------------------------------------


def test_leaky_relu_zero_slope_is_relu_on_finite_inputs():
    x = make_x((256,), seed=5, specials=False)
    x[:2] = [0.0, -0.0]
    np.testing.assert_array_equal(to_numpy(leaky_ops.leaky_relu(x, 0.0)), np.maximum(x, 0))


def test_leaky_relu_unit_slope_is_identity():
    x = make_x((256,), seed=6)
    y = to_numpy(leaky_ops.leaky_relu(x, 1.0))
    np.testing.assert_array_equal(y, x)
    assert_same_sign_bits(y, x)


@pytest.mark.parametrize("lower,upper", BOUNDS)
def test_rrelu_inference_is_leaky_relu_at_mean_slope(lower, upper):
    x = make_x((256,), seed=7)
    np.testing.assert_array_equal(
        to_numpy(leaky_ops.rrelu(x, lower, upper, training=False)),
        to_numpy(leaky_ops.leaky_relu(x, (lower + upper) / 2)),
    )


@pytest.mark.parametrize("slope", [0.0, 0.25, 1 / 3, 1.0])
def test_rrelu_training_with_equal_bounds_is_leaky_relu(slope):
    x = make_x((256,), seed=8)
    np.testing.assert_array_equal(
        to_numpy(leaky_ops.rrelu(x, slope, slope, training=True, seed=1)),
        to_numpy(leaky_ops.leaky_relu(x, slope)),
    )


# --- Dtypes -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["leaky_relu", "prelu", "rrelu", "rrelu_training"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtype_is_preserved(dtype, op):
    rtol = TOLERANCE[dtype]
    x = keras.ops.cast(make_x((4, 8), seed=9, specials=False), dtype)
    x32 = to_numpy(x).astype(np.float32)  # the values the op actually sees
    t32 = torch.from_numpy(x32)
    alpha = np.linspace(-0.5, 1.5, 8).astype(np.float32)  # one per column

    if op == "leaky_relu":
        y = leaky_ops.leaky_relu(x, 0.2)
        expected = F.leaky_relu(t32, 0.2).numpy()
    elif op == "prelu":
        y = leaky_ops.prelu(x, alpha)
        expected = F.prelu(t32, torch.from_numpy(alpha)).numpy()  # channels = axis 1
    elif op == "rrelu":
        y = leaky_ops.rrelu(x, 0.1, 0.3)
        expected = F.rrelu(t32, 0.1, 0.3, training=False).numpy()
    else:
        y = leaky_ops.rrelu(x, 0.1, 0.3, training=True, seed=3)

    assert keras.backend.standardize_dtype(y.dtype) == dtype
    y32 = to_numpy(y).astype(np.float32)
    assert y32.shape == x32.shape
    if op == "rrelu_training":
        positive = x32 > 0
        np.testing.assert_array_equal(y32[positive], x32[positive])
        slopes = y32[~positive] / x32[~positive]
        assert np.all(slopes >= 0.1 * (1 - 2 * rtol)) and np.all(slopes <= 0.3 * (1 + 2 * rtol))
    else:
        np.testing.assert_allclose(y32, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("int_dtype", ["int16", "int32", "int64"])
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: leaky_ops.leaky_relu(x, 0.5),
        lambda x: leaky_ops.prelu(x, 0.5),
        lambda x: leaky_ops.rrelu(x, 0.5, 0.5),
        lambda x: leaky_ops.rrelu(x, 0.5, 0.5, training=True, seed=1),
    ],
    ids=["leaky_relu", "prelu", "rrelu", "rrelu_training"],
)
def test_integer_input_is_cast_to_floatx(fn, int_dtype):
    x = np.array([-2, 0, 3], dtype=int_dtype)
    y = fn(x)
    assert keras.backend.standardize_dtype(y.dtype) == keras.config.floatx()
    expected = np.where(x > 0, x, 0.5 * x.astype(np.float64))
    np.testing.assert_array_equal(to_numpy(y), expected)


# --- Argument validation -----------------------------------------------------


@pytest.mark.parametrize("slope,error", [(-1, ValueError), *BAD_NONNEGATIVE_NUMBERS])
def test_leaky_relu_bad_slope_raises(slope, error):
    with pytest.raises(error, match="negative_slope"):
        leaky_ops.leaky_relu(np.ones(3, np.float32), slope)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "lower,upper,error,name",
    [
        (0.5, 0.1, ValueError, "lower"),
        (-0.1, 0.3, ValueError, "lower"),
        (0.1, float("nan"), ValueError, "upper"),
        (0.1, float("inf"), ValueError, "upper"),
        ("0.1", 0.3, TypeError, "lower"),
    ],
)
def test_rrelu_bad_bounds_raise(lower, upper, error, name, training):
    with pytest.raises(error, match=name):
        leaky_ops.rrelu(np.ones(3, np.float32), lower, upper, training=training, seed=1)


# --- RReLU in training mode ---------------------------------------------------


@pytest.mark.parametrize("lower,upper", [(1 / 8, 1 / 3), (0.0, 1.0)])
def test_rrelu_training_slopes_are_uniform(lower, upper):
    n = 200_000
    y = leaky_ops.rrelu(-np.ones((n,), np.float32), lower, upper, training=True, seed=1234)
    slopes = -to_numpy(y).astype(np.float64)

    assert slopes.min() >= np.float32(lower) - 1e-7
    assert slopes.max() <= np.float32(upper) + 1e-7
    std = (upper - lower) / np.sqrt(12)
    # Within 5 standard errors (sample std of a uniform: SE ~ std * sqrt(0.2 / n)).
    assert abs(slopes.mean() - (lower + upper) / 2) < 5 * std / np.sqrt(n)
    assert abs(slopes.std() - std) < 5 * std * np.sqrt(0.2 / n)
    ks = scipy.stats.kstest(slopes, scipy.stats.uniform(loc=lower, scale=upper - lower).cdf)
    assert ks.pvalue > 0.01, ks


def test_rrelu_training_seed_generator_draws_new_slopes():
    x = -np.ones((1000,), np.float32)
    generator = keras.random.SeedGenerator(seed=7)
    first = to_numpy(leaky_ops.rrelu(x, training=True, seed=generator))
    second = to_numpy(leaky_ops.rrelu(x, training=True, seed=generator))
    assert not np.array_equal(first, second)


def test_rrelu_training_same_seed_same_slopes():
    x = -np.ones((1000,), np.float32)
    first = leaky_ops.rrelu(x, training=True, seed=keras.random.SeedGenerator(seed=7))
    second = leaky_ops.rrelu(x, training=True, seed=keras.random.SeedGenerator(seed=7))
    np.testing.assert_array_equal(to_numpy(first), to_numpy(second))
    np.testing.assert_array_equal(
        to_numpy(leaky_ops.rrelu(x, training=True, seed=7)),
        to_numpy(leaky_ops.rrelu(x, training=True, seed=7)),
    )


def test_rrelu_training_gradient_is_sampled_slope():
    lower, upper, seed = 0.1, 0.6, 11
    x = make_x((1000,), seed=10, specials=False)
    x[:2] = [0.0, -0.0]
    upstream = make_upstream(x)
    # With an int seed the slopes depend only on the shape, not on the values.
    slopes = -to_numpy(leaky_ops.rrelu(-np.ones_like(x), lower, upper, training=True, seed=seed))
    assert len(np.unique(slopes)) > 900

    def fn(t):
        return leaky_ops.rrelu(t, lower, upper, training=True, seed=seed)

    (dx,) = grad(fn, x, upstream=upstream)
    y = to_numpy(fn(x))

    np.testing.assert_array_equal(y, np.where(x > 0, x, slopes * x))
    assert_close(dx, np.where(x > 0, 1.0, slopes) * upstream)


@pytest.mark.parametrize("alpha", ["0.25", None, True, b"x"])
def test_prelu_bad_alpha_raises_naming_it(alpha):
    with pytest.raises(TypeError, match="alpha"):
        leaky_ops.prelu(np.ones(3, "float32"), alpha)


# --- Symbolic inputs (the functional API) --------------------------------------

ALPHA4 = np.array([0.1, -0.2, 0.3, 0.4], np.float32)
SYMBOLIC_OPS = {
    "leaky_relu": lambda x: leaky_ops.leaky_relu(x, 0.1),
    "prelu": lambda x: leaky_ops.prelu(x, ALPHA4),
    "prelu_scalar": lambda x: leaky_ops.prelu(x, 0.3),
    "rrelu": lambda x: leaky_ops.rrelu(x, 0.1, 0.3),
    "rrelu_training": lambda x: leaky_ops.rrelu(x, 0.1, 0.3, training=True, seed=5),
}


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("op", list(SYMBOLIC_OPS))
def test_symbolic_input_gives_keras_tensor(op, dtype):
    y = SYMBOLIC_OPS[op](keras.Input((5, 4), dtype=dtype))
    assert isinstance(y, keras.KerasTensor)
    assert tuple(y.shape) == (None, 5, 4)
    expected = keras.config.floatx() if dtype == "int32" else dtype
    assert keras.backend.standardize_dtype(y.dtype) == expected
    # The same as eagerly.
    eager = SYMBOLIC_OPS[op](keras.ops.ones((2, 5, 4), dtype=dtype))
    assert keras.backend.standardize_dtype(eager.dtype) == expected


def test_symbolic_prelu_broadcasts_alpha_as_eagerly():
    y = leaky_ops.prelu(keras.Input((3, 1)), np.ones((3, 4), np.float32))
    assert tuple(y.shape) == (None, 3, 4)
    eager = leaky_ops.prelu(np.ones((2, 3, 1), np.float32), np.ones((3, 4), np.float32))
    assert tuple(eager.shape) == (2, 3, 4)


@pytest.mark.parametrize("op", list(SYMBOLIC_OPS))
def test_functional_model_predicts_as_eager_and_reloads(op, tmp_path):
    inputs = keras.Input((5, 4))
    model = keras.Model(inputs, SYMBOLIC_OPS[op](inputs))
    x = make_x((3, 5, 4), seed=11)
    expected = to_numpy(SYMBOLIC_OPS[op](x))
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    np.testing.assert_array_equal(to_numpy(model(x)), expected)

    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)  # safe_mode: no lambda, the ops are registered.
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), expected)


def test_functional_model_records_one_node_per_op():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, leaky_ops.prelu(leaky_ops.leaky_relu(inputs), ALPHA4))
    assert [type(op).__name__ for op in model.operations[1:]] == ["LeakyRelu", "Prelu"]


@pytest.mark.parametrize(
    "call,error,words",
    [
        (lambda x: leaky_ops.leaky_relu(x, -1.0), ValueError, "negative_slope"),
        (lambda x: leaky_ops.prelu(x, "0.2"), TypeError, "alpha"),
        (lambda x: leaky_ops.prelu(x, np.ones(3)), ValueError, "alpha"),
        (lambda x: leaky_ops.rrelu(x, 0.5, 0.1), ValueError, "lower"),
        (lambda x: leaky_ops.rrelu(x, training=True, seed=-1), ValueError, "seed"),
    ],
    ids=["slope", "alpha_type", "alpha_shape", "bounds", "seed"],
)
def test_symbolic_call_checks_arguments_at_the_call(call, error, words):
    with pytest.raises(error, match=words):
        call(keras.Input((4,)))


@pytest.mark.parametrize(
    "seed", [None, keras.random.SeedGenerator(1)], ids=["global", "seed_generator"]
)
def test_symbolic_rrelu_training_needs_an_int_seed(seed):
    """A functional graph cannot own a SeedGenerator: the RReLU layer can."""
    with pytest.raises(TypeError, match=r"int `seed`.*RReLU"):
        leaky_ops.rrelu(keras.Input((4,)), training=True, seed=seed)


def test_symbolic_rank_beyond_the_limit_raises():
    with pytest.raises(ValueError, match=f"at most {MAX_RANK} axes"):
        leaky_ops.leaky_relu(keras.Input((1,) * MAX_RANK))


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="TensorFlow has no tensor of rank > 254"
)
def test_eager_rank_beyond_the_limit_raises():
    with pytest.raises(ValueError, match=f"at most {MAX_RANK} axes"):
        leaky_ops.prelu(keras.ops.ones((1,) * (MAX_RANK + 1)), 0.2)


# --- Complex inputs and numbers beyond a float's range ------------------------

COMPLEX_CALLS = {
    "leaky_relu": lambda x: leaky_ops.leaky_relu(x),
    "prelu": lambda x: leaky_ops.prelu(x, 0.25),
    "rrelu": lambda x: leaky_ops.rrelu(x),
    "rrelu_training": lambda x: leaky_ops.rrelu(x, training=True, seed=1),
}


@pytest.mark.parametrize("symbolic", [False, True], ids=["eager", "symbolic"])
@pytest.mark.parametrize("op", list(COMPLEX_CALLS))
def test_complex_input_raises_naming_the_dtype(op, symbolic):
    # Casting would silently give [-0.2, 3.0]: the imaginary parts dropped.
    x = np.array([-1 + 2j, 3 - 1j], np.complex64)
    x = keras.Input((2,), dtype="complex64") if symbolic else x
    with pytest.raises(TypeError, match="real dtype.*Received: x of dtype complex64"):
        COMPLEX_CALLS[op](x)


@pytest.mark.parametrize("alpha", [0.5 + 1j, np.array([0.5 + 1j, 0.1])], ids=["number", "array"])
def test_prelu_complex_alpha_raises(alpha):
    with pytest.raises(TypeError, match="alpha"):
        leaky_ops.prelu(np.ones(2, np.float32), alpha)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda x: leaky_ops.leaky_relu(x, 10**400), "negative_slope"),
        (lambda x: leaky_ops.rrelu(x, 10**400, 10**401), "lower"),
        (lambda x: leaky_ops.rrelu(x, 0.1, 10**400), "upper"),
        (lambda x: leaky_ops.prelu(x, 10**400), "alpha"),
        (lambda x: leaky_ops.prelu(x, [0.1, 10**400]), "alpha"),
    ],
    ids=["slope", "lower", "upper", "alpha", "alpha_list"],
)
def test_python_ints_beyond_a_float_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call(np.ones(2, np.float32))


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_bounds_whose_sum_overflows_raise(training):
    """The inference slope (lower + upper) / 2 would be inf."""
    with pytest.raises(ValueError, match=r"`lower` and `upper`.*finite sum"):
        leaky_ops.rrelu(np.ones(2, np.float32), 1e308, 1.7e308, training=training, seed=1)
