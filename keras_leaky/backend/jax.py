"""The JAX backend of `keras_leaky.ops`: the portable forms, compiled.

Under `jax.jit` (as in `model.fit`) XLA fuses the portable `keras.ops`
forms into one loop anyway. Called eagerly, JAX would run them op by op,
each op a pass over memory (RReLU's noise is some thirty of them), so each
form is wrapped in `jax.jit` here: one fused kernel for eager calls too, and
inlined where the caller is itself compiled. The slopes and bounds are
static (Python floats), compiled in as constants exactly as the portable
forms convert them. JAX's own `jax.nn.leaky_relu` is jitted the same way.

The gradients are JAX's own, except PReLU's in float16 and bfloat16, whose
alpha gradient is summed in float32 (`_prelu_half`).

Private JAX APIs relied on: none.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from keras_leaky.backend import portable


@functools.partial(jax.jit, static_argnums=1)
def leaky_relu(x: jax.Array, negative_slope: float) -> jax.Array:
    """The portable LeakyReLU as one kernel."""
    return portable.leaky_relu(x, negative_slope)


@jax.jit
def prelu(x: jax.Array, alpha: jax.Array) -> jax.Array:
    """The portable PReLU as one kernel; in float16 and bfloat16 its alpha
    gradient is summed in float32 (`_prelu_half`)."""
    if x.dtype in (jnp.float16, jnp.bfloat16):
        return _prelu_half(x, alpha)
    return portable.prelu(x, alpha)


@jax.custom_vjp
def _prelu_half(x: jax.Array, alpha: jax.Array) -> jax.Array:
    """The portable PReLU, with its alpha gradient summed in float32.

    JAX's own gradient sums `x * g` over the axes `alpha` is shared along in
    the input's dtype. With 4096 terms per channel (a (16, 16, 16, 64) input)
    its largest relative error
    against the exact sum was 0.52 in bfloat16 and 3.2e-2 in float16, where
    PyTorch's `F.prelu` has 2.4e-3 and 3.0e-4, about the final rounding.
    Here each product is exact in float32 (two significands of 8 or 11 bits),
    summed in float32 and rounded once: the same error as `F.prelu`'s. The
    input gradient is JAX's own, and only the input and `alpha` are
    kept for the backward pass. Written with differentiable `jnp` ops, so
    gradients of gradients (`jax.grad` of `jax.grad`, `jax.hessian`) work.
    """
    return portable.prelu(x, alpha)


def _prelu_half_forward(x: jax.Array, alpha: jax.Array) -> tuple[jax.Array, tuple]:
    return portable.prelu(x, alpha), (x, alpha)


def _prelu_half_backward(residuals: tuple, upstream: jax.Array) -> tuple[jax.Array, jax.Array]:
    x, alpha = residuals
    positive = x > 0
    grad_x = jnp.where(positive, upstream, alpha * upstream)
    # x * g where x <= 0, exactly 0 elsewhere (also at x = +inf).
    negative_part = jnp.where(positive, jnp.zeros_like(x), x)
    grad_alpha = negative_part.astype(jnp.float32) * upstream.astype(jnp.float32)
    return _sum_to(grad_x, x), _sum_to(grad_alpha, alpha)


_prelu_half.defvjp(_prelu_half_forward, _prelu_half_backward)


def _sum_to(gradient: jax.Array, operand: jax.Array) -> jax.Array:
    """`gradient` summed in float32 over the axes `operand` was broadcast
    along, in `operand`'s shape and dtype."""
    leading = gradient.ndim - operand.ndim
    axes = tuple(range(leading)) + tuple(
        leading + i
        for i, n in enumerate(operand.shape)
        if n == 1 and gradient.shape[leading + i] != 1
    )
    if axes:
        gradient = jnp.sum(gradient.astype(jnp.float32), axis=axes)
    return gradient.reshape(operand.shape).astype(operand.dtype)


@functools.partial(jax.jit, static_argnums=(2, 3))
def rrelu_training(x: jax.Array, key: jax.Array, lower: float, upper: float) -> jax.Array:
    """The portable RReLU in training, hashed slopes included, as one kernel."""
    return portable.rrelu_training(x, key, lower, upper)
