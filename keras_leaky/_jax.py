"""JAX fast paths for `keras_leaky.ops`: the portable forms, compiled.

Under `jax.jit` (as in `model.fit`) XLA fuses the portable `keras.ops`
forms into one loop anyway. Called eagerly, JAX would run them op by op,
each op a pass over memory (RReLU's noise is some thirty of them), so each
form is wrapped in `jax.jit` here: one fused kernel for eager calls too, and
inlined where the caller is itself compiled. The slopes and bounds are
static (Python floats), compiled in as constants exactly as the portable
forms convert them. JAX's own `jax.nn.leaky_relu` is jitted the same way.
"""

from __future__ import annotations

import functools

import jax

from keras_leaky import ops as leaky_ops


@functools.partial(jax.jit, static_argnums=1)
def leaky_relu(x: jax.Array, negative_slope: float) -> jax.Array:
    """The portable LeakyReLU as one kernel."""
    return leaky_ops._leaky_relu(x, negative_slope)


@jax.jit
def prelu(x: jax.Array, alpha: jax.Array) -> jax.Array:
    """The portable PReLU as one kernel."""
    return leaky_ops._prelu(x, alpha)


@functools.partial(jax.jit, static_argnums=(2, 3))
def rrelu_training(x: jax.Array, key: jax.Array, lower: float, upper: float) -> jax.Array:
    """The portable RReLU in training, hashed slopes included, as one kernel."""
    return leaky_ops._rrelu(x, key, lower, upper)
