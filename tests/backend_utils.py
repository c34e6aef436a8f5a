"""Backend-agnostic test helpers: tensors to NumPy, gradients, inputs, tolerances, subprocesses.

The backend is whatever `keras.backend.backend()` is in this process (set by
`KERAS_BACKEND`); the backend libraries are imported lazily so that this
module imports on any of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import keras
import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """Returns `x` (a backend tensor, variable or array-like) as a NumPy array.

    bfloat16 tensors come back as `ml_dtypes.bfloat16` arrays.
    """
    if len(keras.ops.shape(x)) == 0:  # TensorFlow cannot convert a bfloat16 scalar.
        return np.asarray(keras.ops.convert_to_numpy(keras.ops.reshape(x, (1,))))[0, ...]
    return np.asarray(keras.ops.convert_to_numpy(x))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository: the working directory and import path of `run_python`."""


def run_python(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = (), timeout: int = 300
) -> subprocess.CompletedProcess:
    """Runs `python *args` (`"-c", code` or `"-m", module`) in a fresh interpreter.

    The code after `"-c"` is dedented, so it can be written indented in a test.

    It runs from the repository and imports `keras_leaky` from it, with this
    process's environment (so the same backend) plus `env` (e.g.
    `{"KERAS_BACKEND": "jax"}`) and without the variables named in `unset`.
    Output is captured as text; the caller checks the return code.
    """
    if args[:1] == ("-c",):
        args = ("-c", textwrap.dedent(args[1]), *args[2:])
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment["PYTHONPATH"] = ROOT
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**environment, **(env or {})},
    )


SPECIALS = (0.0, -0.0, np.nan, np.inf, -np.inf, 2e-38, -2e-38, 3e38, -3e38, 1e-3, -1e-3, 1.0, -1.0)
"""Values every op is checked at: signed zeros, NaN, infinities, subnormals in float32, the
largest float32 magnitudes, small and unit values."""


def make_x(
    shape: tuple[int, ...], seed: int = 0, specials: bool = True, per_channel: bool = False
) -> np.ndarray:
    """`3 * standard normal` float32 values, with `SPECIALS` among them if asked.

    `specials` puts them at random positions; `per_channel` puts every one of
    them in every channel (last axis), in the first `len(SPECIALS)` positions.
    """
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    values = np.array(SPECIALS, np.float32)
    if per_channel:
        x.reshape(-1, shape[-1])[: len(values)] = values[:, None]
    elif specials:
        flat = x.reshape(-1)
        flat[rng.permutation(flat.size)[: len(values)]] = values[: flat.size]
    return x


TOLERANCE = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}
"""Relative (and absolute) tolerance per dtype for results that may round differently."""


def value_and_grad(
    fn: Callable[..., Any],
    *args: Any,
    upstream: Any = None,
    dtype: str | None = None,
    compiled: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """`fn(*args)` and the gradients of `sum(fn(*args) * upstream)` w.r.t. each of `args`.

    Args:
        fn: A function of backend tensors returning one tensor.
        *args: NumPy arrays (or array-likes); each is converted to a backend
            tensor of `dtype` (a `tf.Variable` on TensorFlow) before calling `fn`.
        upstream: The upstream gradient, broadcastable to `fn`'s output;
            defaults to ones.
        dtype: The dtype of the tensors `fn` gets; defaults to each arg's own.
        compiled: Whether to run `fn` and its gradient as one compiled
            function (`tf.function(jit_compile=True)`, `jax.jit`). Not on torch.

    Returns:
        The output and one gradient per arg (of the arg's shape), as NumPy
        arrays of their own dtype. An arg that `fn` does not depend on gets
        zeros.
    """
    args = [np.asarray(a) for a in args]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def run(*xs):
            with tf.GradientTape() as tape:
                tape.watch(xs)
                y = fn(*xs)
                u = tf.ones_like(y) if upstream is None else tf.cast(upstream, y.dtype)
                loss = tf.reduce_sum(y * u)
            grads = tape.gradient(loss, xs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return y, grads

        if compiled:
            run = tf.function(run, jit_compile=True)
        y, grads = run(*[tf.Variable(a if dtype is None else tf.cast(a, dtype)) for a in args])
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def run(*xs):
            y, vjp = jax.vjp(fn, *xs)
            u = jnp.ones_like(y) if upstream is None else jnp.asarray(upstream, y.dtype)
            return y, vjp(u)

        if compiled:
            run = jax.jit(run)
        # Cast by JAX, not NumPy: NumPy warns where a value overflows to inf.
        y, grads = run(
            *[jnp.asarray(a) if dtype is None else jnp.asarray(a).astype(dtype) for a in args]
        )
    elif backend == "torch":
        import torch

        if compiled:
            raise ValueError("`compiled` is for TensorFlow and JAX.")
        xs = [torch.tensor(a) for a in args]
        if dtype is not None:
            xs = [x.to(getattr(torch, dtype)) for x in xs]
        xs = [x.requires_grad_(True) for x in xs]
        y = fn(*xs)
        u = (
            torch.ones_like(y)
            if upstream is None
            else torch.as_tensor(np.asarray(upstream), device=y.device).to(y.dtype)
        )
        grads = torch.autograd.grad((y * u).sum(), xs, allow_unused=True)
        grads = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads, strict=True)]
        y = y.detach()
    else:
        raise NotImplementedError(f"No gradient helper for backend {backend!r}")
    return to_numpy(y), [to_numpy(g) for g in grads]


def grad(fn: Callable[..., Any], *args: Any, upstream: Any = None) -> list[np.ndarray]:
    """The gradients of `value_and_grad`, alone."""
    return value_and_grad(fn, *args, upstream=upstream)[1]


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
