"""The JAX fast paths are what eager calls run: one compiled kernel each.

`keras_leaky._jax` runs the portable forms under `jax.jit`; their outputs and
gradients are compared with the reference in `tests/eager_fast_path_test.py`.
"""

import keras
import pytest

from keras_leaky import ops as leaky_ops

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
