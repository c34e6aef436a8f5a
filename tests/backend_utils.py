"""Backend-agnostic test helpers: tensors to NumPy, and gradients.

The backend is whatever `keras.backend.backend()` is in this process (set by
`KERAS_BACKEND`); the backend libraries are imported lazily so that this
module imports on any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """Returns `x` (a backend tensor, variable or array-like) as a NumPy array.

    bfloat16 tensors come back as `ml_dtypes.bfloat16` arrays.
    """
    return np.asarray(keras.ops.convert_to_numpy(x))


def grad(fn: Callable[..., Any], *args: Any, upstream: Any = None) -> list[np.ndarray]:
    """Gradients of `sum(fn(*args) * upstream)` w.r.t. each of `args`.

    Args:
        fn: A function of backend tensors returning one tensor.
        *args: NumPy arrays (or array-likes); each is converted to a backend
            tensor (a `tf.Variable` on TensorFlow) before calling `fn`.
        upstream: The upstream gradient, broadcastable to `fn`'s output;
            defaults to ones.

    Returns:
        One NumPy array per arg, of the arg's shape. An arg that `fn` does not
        depend on gets zeros.
    """
    args = [np.asarray(a) for a in args]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xs = [tf.Variable(a) for a in args]
        with tf.GradientTape() as tape:
            y = fn(*xs)
            u = tf.ones_like(y) if upstream is None else tf.cast(upstream, y.dtype)
            loss = tf.reduce_sum(y * u)
        grads = tape.gradient(loss, xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss(*xs):
            y = fn(*xs)
            u = jnp.ones_like(y) if upstream is None else jnp.asarray(upstream, y.dtype)
            return jnp.sum(y * u)

        xs = [jnp.asarray(a) for a in args]
        grads = jax.grad(loss, argnums=tuple(range(len(xs))))(*xs)
    elif backend == "torch":
        import torch

        xs = [torch.tensor(a, requires_grad=True) for a in args]
        y = fn(*xs)
        u = (
            torch.ones_like(y)
            if upstream is None
            else torch.as_tensor(np.asarray(upstream), device=y.device).to(y.dtype)
        )
        grads = torch.autograd.grad((y * u).sum(), xs, allow_unused=True)
        grads = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads, strict=True)]
    else:
        raise NotImplementedError(f"No gradient helper for backend {backend!r}")
    return [to_numpy(g) for g in grads]


BAD_NONNEGATIVE_NUMBERS = [
    (-0.1, ValueError),
    (float("nan"), ValueError),
    (float("inf"), ValueError),
    (float("-inf"), ValueError),
    ("0.1", TypeError),
    (True, TypeError),
    (None, TypeError),
    ([0.1], TypeError),
]
"""Values a finite, >= 0 argument must reject, with the error each one raises."""
