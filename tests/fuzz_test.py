"""Property-based fuzzing of the layers' configs and inputs (hypothesis).

Configs are drawn from valid and invalid values alike (negative, NaN, inf,
strings, booleans, lists, bad axes and data formats); inputs from every shape
of rank 1 to 4, float and int dtypes, with NaN, +-inf, +-0 and values around 0.
The property: a layer either refuses its config or input with a clean
`ValueError`/`TypeError` naming the field, or its output matches the NumPy
reference (for RReLU in training: lies between the two bounding lines).
Derandomized, so every run tries the same examples.
"""

import math

import keras
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import keras_leaky
from tests.backend_utils import TOLERANCE, to_numpy

# A slope beyond the dtype's range overflows to inf, as in PyTorch; NumPy
# (which JAX uses to convert it) warns about that, rightly.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# JAX runs without float64 unless JAX_ENABLE_X64 is set; Keras then computes in float32.
DTYPES = ["float32", "float16", "bfloat16", "int32"]
DTYPES += [] if keras.backend.backend() == "jax" else ["float64"]

numbers_of_all_kinds = st.one_of(
    st.floats(-2.0, 3.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    # 10**400 is an int no float holds; 1.7e308 overflows in `lower + upper`.
    st.sampled_from(["0.1", None, True, [0.1], float("nan"), 10**400, 1.7e308]),
)


@st.composite
def inputs(draw):
    """(array, dtype): any shape of rank 1 to 4, values from the awkward places."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dtype = draw(st.sampled_from(DTYPES))
    elements = st.one_of(
        st.floats(-4.0, 4.0, width=32),
        st.sampled_from([0.0, -0.0, 1e-30, -1e-30, np.nan, np.inf, -np.inf, 1e3, -1e3]),
    )
    if dtype == "int32":
        elements = st.integers(-5, 5)
    values = draw(hnp.arrays(np.float64, shape, elements=elements))
    return values, dtype


def backend_input(values, dtype):
    """The input as the backend sees it, and its exact float64 values."""
    x = keras.ops.cast(values, dtype)
    return x, to_numpy(x).astype(np.float64)


def expected_dtype(dtype):
    return keras.config.floatx() if dtype == "int32" else dtype


def layer_dtype(data):
    """The layer computes in the input's float dtype (ints are cast to floatx)."""
    return expected_dtype(data[1])


def assert_matches(y, reference, dtype):
    assert keras.backend.standardize_dtype(y.dtype) == expected_dtype(dtype)
    tol = TOLERANCE[expected_dtype(dtype)]
    with np.errstate(invalid="ignore", over="ignore"):
        np.testing.assert_allclose(to_numpy(y).astype(np.float64), reference, tol, tol, True)


def numpy_dtype(dtype):
    return np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)


def leaky_reference(x, slope, dtype):
    """`where(x > 0, x, x * slope)` computed in `dtype`, as the backends do.

    In that dtype a huge slope overflows to inf and `0 * inf` is NaN, exactly
    as in PyTorch's kernel; float64 NumPy would hide that.
    """
    dtype = numpy_dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        x = x.astype(dtype)
        return np.where(x > 0, x, x * np.asarray(slope).astype(dtype)).astype(np.float64)


def is_float(value):
    """Whether `value` is a finite float, or converts to one (10**400 does not)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def refused(error, *fields):
    """A clean refusal: our error types, naming one of the fields."""
    return isinstance(error, (ValueError, TypeError)) and any(f in str(error) for f in fields)


@SETTINGS
@given(slope=numbers_of_all_kinds, data=inputs())
def test_leaky_relu_refuses_or_matches(slope, data):
    try:
        layer = keras_leaky.LeakyReLU(negative_slope=slope, dtype=layer_dtype(data))
    except Exception as error:
        assert refused(error, "negative_slope"), error
        valid = not isinstance(slope, (bool, str, list, type(None)))
        assert not (valid and slope >= 0 and is_float(slope)), error
        return
    x, exact = backend_input(*data)
    assert_matches(layer(x), leaky_reference(exact, float(slope), layer_dtype(data)), data[1])


INFINITIES = (np.array([-np.inf, np.inf, -1.0, np.nan]), "float32")


@SETTINGS
@given(
    lower=numbers_of_all_kinds, upper=numbers_of_all_kinds, data=inputs(), training=st.booleans()
)
# -inf times a slope drawn from [0, 0.5]: -inf (NaN only for a slope of exactly 0).
@example(lower=0.0, upper=0.5, data=INFINITIES, training=True)
@example(lower=0.0, upper=0.0, data=INFINITIES, training=True)  # Every slope 0: NaN.
def test_rrelu_refuses_or_matches(lower, upper, data, training):
    try:
        layer = keras_leaky.RReLU(lower=lower, upper=upper, seed=0, dtype=layer_dtype(data))
    except Exception as error:
        assert refused(error, "lower", "upper"), error
        return
    x, exact = backend_input(*data)
    y = layer(x, training=training)
    if not training:
        assert_matches(y, leaky_reference(exact, (lower + upper) / 2, layer_dtype(data)), data[1])
        return
    # Between the two bounding lines, per element; identical where x > 0.
    low = leaky_reference(exact, lower, layer_dtype(data))
    high = leaky_reference(exact, upper, layer_dtype(data))
    tol = TOLERANCE[expected_dtype(data[1])]
    actual = to_numpy(y).astype(np.float64)
    lo, hi = np.minimum(low, high), np.maximum(low, high)
    finite = np.isfinite(lo) & np.isfinite(hi)
    assert np.all(actual[finite] >= lo[finite] - tol * (1 + abs(lo[finite])))
    assert np.all(actual[finite] <= hi[finite] + tol * (1 + abs(hi[finite])))
    # NaN where both lines are NaN, never where neither is. Where only one is (x = -inf and
    # a bound of 0: -inf * 0), the drawn slope decides: -inf, or NaN for a slope of 0.
    nan_low, nan_high = np.isnan(low), np.isnan(high)
    agree = nan_low == nan_high
    np.testing.assert_array_equal(np.isnan(actual)[agree], nan_low[agree])
    other_line = np.where(nan_low, high, low)[~agree]
    assert np.all(np.isnan(actual[~agree]) | (actual[~agree] == other_line))


shared_axes_choices = st.one_of(
    st.none(),
    st.just("all"),
    st.lists(st.integers(-5, 5), max_size=3),
    st.integers(-5, 5),
    st.sampled_from(["channels", 1.5, [1.0], True, [True]]),
)


@SETTINGS
@given(
    alpha=numbers_of_all_kinds,
    shared_axes=shared_axes_choices,
    data_format=st.sampled_from(["channels_last", "channels_first", "NHWC", None, 3]),
    data=inputs(),
)
def test_prelu_refuses_or_matches(alpha, shared_axes, data_format, data):
    fields = ("alpha_initializer", "shared_axes", "data_format")
    try:
        layer = keras_leaky.PReLU(
            alpha_initializer=alpha,
            shared_axes=shared_axes,
            data_format=data_format,
            dtype=layer_dtype(data),
        )
    except Exception as error:
        assert refused(error, *fields), error
        return
    # A constant alpha that overflows the layer's dtype (say 7e4 in float16) is
    # the only case where TensorFlow's PReLU form differs from the reference;
    # see tests/backend_test.py::test_tensorflow_prelu_non_finite_alpha_is_all_nan.
    with np.errstate(over="ignore"):
        assume(np.isfinite(np.asarray(float(alpha)).astype(numpy_dtype(layer.dtype))))
    x, exact = backend_input(*data)
    try:
        y = layer(x)
    except Exception as error:
        # Only the shape can be wrong now (e.g. an axis out of range, rank 1 with
        # one alpha per channel); the message says which shape and axes.
        assert refused(error, "input_shape"), error
        assert not layer.built
        return
    assert_matches(y, leaky_reference(exact, float(alpha), layer_dtype(data)), data[1])


def test_fuzzing_found_the_refusals_it_was_meant_to():
    """Guards against a strategy that never produces a refusal."""
    for slope, error in [(float("nan"), ValueError), ("0.1", TypeError), (-1, ValueError)]:
        with pytest.raises(error, match="negative_slope"):
            keras_leaky.LeakyReLU(negative_slope=slope)
