"""The JAX fast paths give the portable reference's outputs and gradients.

`keras_leaky._jax` runs the portable forms under `jax.jit`, so that eager
calls are one fused kernel; the same inputs as the other fast-path tests
(0, -0.0, NaN, +-inf and subnormals in every channel), every float dtype,
compared with the portable forms run op by op.
"""

import keras
import numpy as np
import pytest

from keras_leaky import ops as leaky_ops
from tests.fast_path_test import ALPHAS, DTYPES, make_x
from tests.torch_fast_path_test import assert_same

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX fast paths")


def value_and_grads(fn, args, dtype, upstream):
    """`fn(*args)` in `dtype` and its gradients w.r.t. `args`, as float64 NumPy."""
    import jax
    import jax.numpy as jnp

    if dtype == "float64" and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs jax_enable_x64")
    y, vjp = jax.vjp(fn, *[jnp.asarray(a, dtype) for a in args])
    grads = vjp(jnp.asarray(upstream, y.dtype))
    return [np.asarray(t.astype(jnp.float32), np.float64) for t in (y, *grads)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_fast_path_equals_reference(slope, dtype):
    from keras_leaky import _jax

    x = make_x((4, 6, 3), seed=1)
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)

    def reference(x):
        return leaky_ops._leaky(x, leaky_ops._like(slope, x))

    fast = value_and_grads(lambda x: _jax.leaky_relu(x, slope), [x], dtype, upstream)
    assert_same(fast, value_and_grads(reference, [x], dtype, upstream), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha_kind", list(ALPHAS))
def test_prelu_fast_path_equals_reference(alpha_kind, dtype):
    from keras_leaky import _jax

    x = make_x((2, 5, 6, 3), seed=3)
    alpha = np.asarray(ALPHAS[alpha_kind](3), np.float32)
    upstream = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)

    fast = value_and_grads(_jax.prelu, [x, alpha], dtype, upstream)
    assert fast[2].shape == alpha.shape
    assert_same(fast, value_and_grads(leaky_ops._prelu, [x, alpha], dtype, upstream), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2)])
def test_rrelu_training_fast_path_equals_reference(bounds, dtype):
    from keras_leaky import _jax, _noise

    x = make_x((4, 6, 3), seed=5)
    upstream = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    key = _noise.draw_key(7)  # One key: both must compute the same slopes from it.

    fast = value_and_grads(lambda x: _jax.rrelu_training(x, key, *bounds), [x], dtype, upstream)
    expected = value_and_grads(lambda x: leaky_ops._rrelu(x, key, *bounds), [x], dtype, upstream)
    # Within float32's rounding, not bit for bit: XLA rewrites the slope's last
    # multiply and add, which moves some slopes by one unit in the last place.
    assert_same(fast, expected, dtype)


@pytest.mark.parametrize(
    "fn, kernel",
    [
        (lambda x: leaky_ops.leaky_relu(x, 0.1), "leaky_relu"),
        (lambda x: leaky_ops.prelu(x, [0.1, 0.2]), "prelu"),
        (lambda x: leaky_ops.rrelu(x, training=True, seed=1), "rrelu_training"),
    ],
    ids=["leaky_relu", "prelu", "rrelu"],
)
def test_public_ops_run_as_one_compiled_kernel(fn, kernel):
    """Without this the tests above would pass while eager calls ran op by op."""
    import jax
    import jax.numpy as jnp

    jaxpr = jax.make_jaxpr(fn)(jnp.ones((3, 2)))
    calls = [e.params["name"] for e in jaxpr.eqns if e.primitive.name in ("pjit", "jit")]
    assert kernel in calls
