"""The JAX fast paths are what eager calls run: one compiled kernel each.

`keras_leaky._jax` runs the portable forms under `jax.jit`; their outputs and
gradients are compared with the reference in `tests/eager_fast_path_test.py`.
"""

import keras
import numpy as np
import pytest

from keras_leaky import ops as leaky_ops
from tests.fast_path_test import make_x

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX fast paths")


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


PRELU_SHAPES = {  # x's shape (>= 11 rows for the special values), alpha's shape.
    "channel": ((4, 3, 3), (3,)),
    "scalar": ((4, 3, 3), ()),
    "per_element": ((4, 3, 3), (3, 3)),
    "with_batch_axis": ((4, 3, 3), (1, 3, 3)),
    "x_broadcast": ((12, 1, 3), (4, 3)),  # The input gradient is summed too.
}


@pytest.mark.parametrize("alpha_zero", [False, True], ids=["alpha", "alpha_zero"])
@pytest.mark.parametrize("shapes", list(PRELU_SHAPES))
def test_prelu_half_custom_gradient_equals_reference(shapes, alpha_zero):
    """The custom VJP that sums half-precision alpha gradients in float32
    (`_jax._prelu_half`) has the portable form's first and second
    derivatives: compared in float32, where both are exact to rounding."""
    import jax
    import jax.numpy as jnp

    from keras_leaky import _jax

    x_shape, alpha_shape = PRELU_SHAPES[shapes]
    rng = np.random.default_rng(9)
    x = jnp.asarray(make_x(x_shape, seed=10))
    alpha = jnp.asarray(0 if alpha_zero else rng.uniform(-0.5, 1.5, alpha_shape), jnp.float32)
    alpha = jnp.broadcast_to(alpha, alpha_shape)
    upstream = jnp.asarray(rng.standard_normal(jnp.broadcast_shapes(x_shape, alpha_shape)))

    def first_order(fn, x, alpha):
        y, vjp = jax.vjp(fn, x, alpha)
        return y, *vjp(upstream.astype(y.dtype))

    for actual, expected in zip(
        first_order(_jax._prelu_half, x, alpha),
        first_order(leaky_ops._prelu, x, alpha),
        strict=True,
    ):
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)

    # Second order on finite inputs (special values make 0 * inf in y ** 2).
    x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)

    def loss(fn):
        return lambda x, alpha: jnp.sum(upstream * fn(x, alpha) ** 2)

    for argnums in [0, 1]:
        actual = jax.jit(jax.hessian(loss(_jax._prelu_half), argnums))(x, alpha)
        expected = jax.jit(jax.hessian(loss(leaky_ops._prelu), argnums))(x, alpha)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)

    def penalty(fn):  # WGAN-GP's: the squared norm of the input gradient.
        return lambda x, alpha: jnp.sum(jax.grad(loss(fn))(x, alpha) ** 2)

    actual = jax.jit(jax.grad(penalty(_jax._prelu_half), (0, 1)))(x, alpha)
    expected = jax.jit(jax.grad(penalty(leaky_ops._prelu), (0, 1)))(x, alpha)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5)


def reduction_dtypes(jaxpr, shape):
    """The dtypes of the `reduce_sum`s to `shape` in `jaxpr` and the jaxprs it calls."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "reduce_sum" and eqn.outvars[0].aval.shape == shape:
            yield str(eqn.outvars[0].aval.dtype)
        for param in eqn.params.values():
            if hasattr(param, "eqns"):  # A (closed) jaxpr.
                yield from reduction_dtypes(param, shape)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_prelu_sums_half_alpha_gradients_in_float32(dtype):
    """Without this the precision test could pass by chance (its error is
    measured against the exact sum in `tests/alpha_gradient_precision_test.py`)."""
    import jax
    import jax.numpy as jnp

    x, alpha = jnp.ones((4, 3), dtype), jnp.full((3,), 0.25, dtype)
    jaxpr = jax.make_jaxpr(jax.grad(lambda a: jnp.sum(leaky_ops.prelu(x, a))))(alpha)
    assert list(reduction_dtypes(jaxpr, alpha.shape)) == ["float32"]
