"""The TensorFlow fast paths give the portable reference's outputs and gradients.

`keras_leaky._tensorflow` replaces the `keras.ops` forms on the TensorFlow
backend; the portable forms (`keras_leaky.ops._leaky`, `_prelu`) stay the
reference. Compared eagerly and under XLA, at 0, -0.0, NaN, +-inf and
subnormals, in float32, float16 and bfloat16, for every alpha shape.
"""

import logging

import keras
import numpy as np
import pytest

from keras_leaky import ops as leaky_ops
from tests.backend_utils import to_numpy

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow fast paths"
)

SPECIALS = [0.0, -0.0, np.nan, np.inf, -np.inf, 2e-38, -2e-38, 1e-3, -1e-3, 3.0, -3.0]
DTYPES = ["float32", "float16", "bfloat16", "float64"]


def make_x(shape, seed=0):
    """Random float32 values with every special value in every channel (last axis)."""
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    flat[: len(SPECIALS)] = np.array(SPECIALS, np.float32)[:, None]
    return x


def value_and_grads(fn, args, dtype, upstream, compiled):
    """`fn(*args)` in `dtype` and its gradients w.r.t. `args`, as float32 NumPy."""
    import tensorflow as tf

    def run(*xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            y = fn(*xs)
            loss = tf.reduce_sum(y * tf.cast(upstream, y.dtype))
        return y, tape.gradient(loss, xs)

    if compiled:
        run = tf.function(run, jit_compile=True)
    y, grads = run(*[tf.cast(a, dtype) for a in args])
    return [tf.cast(t, tf.float32).numpy() for t in (y, *grads)]


def assert_same(actual, expected, dtype):
    # Outputs agree exactly; the alpha gradient's sum may be ordered differently.
    tol = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}[dtype]
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_fast_path_equals_reference(slope, dtype, compiled):
    from keras_leaky import _tensorflow

    if dtype == "float64":
        pytest.skip("float64 uses the portable form: LeakyRelu's slope is a float32")
    x = make_x((4, 6, 3), seed=1)
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)

    def fast_fn(x):
        return _tensorflow.leaky_relu(x, slope)

    def reference(x):
        return leaky_ops._leaky_relu(x, slope)

    fast = value_and_grads(fast_fn, [x], dtype, upstream, compiled)
    expected = value_and_grads(reference, [x], dtype, upstream, compiled)
    assert_same(fast, expected, dtype)


ALPHAS = {
    "channel": lambda c: np.linspace(-0.5, 1.5, c),
    "channel_with_zero": lambda c: np.array([0.0, 0.25, -1.0])[:c],
    "channel_in_unit_interval": lambda c: np.linspace(0.1, 1.0, c),  # Keeps the output.
    "scalar": lambda c: np.float32(0.3),
    "keras_shape": lambda c: np.full((1, 1, c), 0.25),
    "per_element": lambda c: np.linspace(-1.0, 2.0, 5 * 6 * c).reshape(5, 6, c),
    "with_batch_axis": lambda c: np.full((1, 5, 6, c), 0.5),
}


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha_kind", list(ALPHAS))
def test_prelu_fast_path_equals_reference(alpha_kind, dtype, compiled):
    from keras_leaky import _tensorflow

    x = make_x((2, 5, 6, 3), seed=3)
    alpha = np.asarray(ALPHAS[alpha_kind](3), np.float32)
    upstream = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)

    fast = value_and_grads(_tensorflow.prelu, [x, alpha], dtype, upstream, compiled)
    expected = value_and_grads(leaky_ops._prelu, [x, alpha], dtype, upstream, compiled)
    assert fast[2].shape == alpha.shape
    assert_same(fast, expected, dtype)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2)])
def test_rrelu_training_fast_path_equals_reference(bounds, dtype, compiled):
    from keras_leaky import _noise, _tensorflow

    lower, upper = bounds
    x = make_x((4, 6, 3), seed=5)
    upstream = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    key = _noise.draw_key(7)  # One key: both must compute the same slopes from it.

    def fast_fn(x):
        return _tensorflow.rrelu_training(x, key, lower, upper)

    def reference(x):
        return leaky_ops._rrelu(x, key, lower, upper)

    fast = value_and_grads(fast_fn, [x], dtype, upstream, compiled)
    expected = value_and_grads(reference, [x], dtype, upstream, compiled)
    assert_same(fast, expected, dtype)
    if lower < upper:  # Not a constant slope: the noise really is there.
        negative = np.asarray(x, np.float64) < -1  # Finite, not tiny, not special.
        negative &= np.isfinite(np.asarray(x, np.float64))
        slopes = np.asarray(fast[0], np.float64)[negative] / np.asarray(x, np.float64)[negative]
        assert len(np.unique(slopes.round(2))) > 5


def xla_kernels(graph):
    """{name: FunctionDef} of the XLA-compiled functions `graph` calls."""
    functions = graph.as_graph_def().library.function
    return {
        f.signature.name.removeprefix("__inference_").rsplit("_", 1)[0]: f
        for f in functions
        if f.attr["_XlaMustCompile"].b
    }


def test_public_ops_use_the_fast_paths():
    """Without this the tests above would pass while the layers used the slow path."""
    import tensorflow as tf

    x = tf.constant([[-1.0, 2.0]])
    graph = tf.function(lambda x: leaky_ops.leaky_relu(x, 0.1)).get_concrete_function(x).graph
    assert "LeakyRelu" in {op.type for op in graph.get_operations()}
    # Served or exported (no tape): plain ops in the pattern TFLite maps to PRELU.
    graph = tf.function(lambda x: leaky_ops.prelu(x, [0.1, 0.2])).get_concrete_function(x).graph
    assert "Relu" in {op.type for op in graph.get_operations()}
    assert not xla_kernels(graph)

    def prelu_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = leaky_ops.prelu(x, [0.1, 0.2])
        return tape.gradient(y, x)

    # Trained: one XLA kernel each way, the forward one holding the same pattern.
    graph = tf.function(prelu_gradient).get_concrete_function(x).graph
    kernels = xla_kernels(graph)
    assert sorted(kernels) == ["_prelu_backward", "_prelu_forward"]
    assert "Relu" in {node.op for node in kernels["_prelu_forward"].node_def}
    seed = keras.random.SeedGenerator(0)
    rrelu = tf.function(lambda x: leaky_ops.rrelu(x, training=True, seed=seed))
    graph = rrelu.get_concrete_function(x).graph
    assert "IdentityN" in {op.type for op in graph.get_operations()}  # custom_gradient


def test_prelu_non_finite_alpha_is_all_nan():
    """The one documented difference: relu(x) + (-alpha) * relu(-x) is NaN
    wherever alpha is NaN or inf (a diverged model), also for x > 0, where the
    reference gives x. Kept for TFLite's PRELU mapping; NaN is never hidden."""
    import tensorflow as tf

    from keras_leaky import _tensorflow

    x = np.array([[2.0, -2.0]], np.float32)
    for alpha in [np.nan, np.inf]:
        y = _tensorflow.prelu(tf.constant(x), tf.constant([alpha, alpha], tf.float32)).numpy()
        assert np.isnan(y[0, 0]) and not np.isfinite(y[0, 1])
        reference = to_numpy(leaky_ops._prelu(x, np.float32([alpha, alpha])))
        assert reference[0, 0] == 2.0


def second_derivatives(fn, args, weights, directions, mode):
    """Hessian-vector products `H @ directions` of `sum(weights * fn(*args)**2)`.

    As a gradient penalty takes them: the gradients of the first-order
    gradients, nested tapes in float32, eagerly, in a `tf.function` or in
    one compiled with XLA.
    """
    import tensorflow as tf

    def run(*xs):
        with tf.GradientTape() as outer:
            outer.watch(xs)
            with tf.GradientTape() as inner:
                inner.watch(xs)
                y = fn(*xs)
                loss = tf.reduce_sum(weights * y * y)
            grads = inner.gradient(loss, xs)
            penalty = sum(tf.reduce_sum(g * v) for g, v in zip(grads, directions, strict=True))
        return outer.gradient(penalty, xs)

    if mode != "eager":
        run = tf.function(run, jit_compile=mode == "xla")
    return [t.numpy() for t in run(*[tf.constant(a) for a in args])]


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
@pytest.mark.parametrize(
    "op, alpha_kind",
    [("leaky_relu", None), ("rrelu", None)] + [("prelu", kind) for kind in ALPHAS],
)
def test_second_derivatives_equal_reference(op, alpha_kind, mode):
    """Gradients of gradients (WGAN-GP's penalty, meta-learning) through the
    custom gradients, alpha = 0 included: the alpha gradient there once took
    `saved / alpha` in the branch not selected, whose derivative is NaN."""
    from keras_leaky import _noise, _tensorflow

    key = _noise.draw_key(7)
    fast, reference = {
        "leaky_relu": (
            lambda x: _tensorflow.leaky_relu(x, 0.2),
            lambda x: leaky_ops._leaky_relu(x, 0.2),
        ),
        "prelu": (_tensorflow.prelu, leaky_ops._prelu),
        "rrelu": (
            lambda x: _tensorflow.rrelu_training(x, key, 0.1, 0.4),
            lambda x: leaky_ops._rrelu(x, key, 0.1, 0.4),
        ),
    }[op]
    rng = np.random.default_rng(8)
    x = (3 * rng.standard_normal((2, 5, 6, 3))).astype(np.float32)
    args = [x] if alpha_kind is None else [x, np.asarray(ALPHAS[alpha_kind](3), np.float32)]
    weights = rng.uniform(0.5, 1.5, x.shape).astype(np.float32)
    directions = [rng.standard_normal(a.shape).astype(np.float32) for a in args]

    actual = second_derivatives(fast, args, weights, directions, mode)
    expected = second_derivatives(reference, args, weights, directions, mode)
    for a, e in zip(actual, expected, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5)


def test_prelu_second_derivative_at_alpha_zero_is_not_nan():
    """`alpha_initializer="zeros"`, as Keras's own PReLU test has it. With
    y = prelu(x, alpha) and L = sum(y) ** 2, dL/dalpha = 2 * sum(y) * n and
    d2L/dalpha2 = 2 * n ** 2, where n = sum(x where x <= 0) = -3 here."""
    import tensorflow as tf

    x = tf.constant([[-2.0, 3.0, -1.0]])
    alpha = tf.Variable(0.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = tf.reduce_sum(leaky_ops.prelu(x, alpha)) ** 2
        first = inner.gradient(loss, alpha)
    second = outer.gradient(first, alpha)
    assert first.numpy() == 2 * 3.0 * -3.0
    assert second.numpy() == 2 * (-3.0) ** 2


def test_eager_calls_on_many_shapes_do_not_warn_about_retracing():
    """The kernels are traced once per shape (see `_compiled`), quietly.

    Images of any size are the common case; TensorFlow's warning would tell
    the user to fix a `tf.function` that is not theirs.
    """
    import tensorflow as tf

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for size in range(3, 11):
            x = tf.random.normal((1, size, size, 2), seed=size)
            leaky_ops.prelu(x, tf.constant([0.25, 0.5]))
            leaky_ops.rrelu(x, training=True, seed=size)
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if "retracing" in r.getMessage()]
