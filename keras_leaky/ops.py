"""Functional forms of the leaky-rectifier family.

These are the single source of the math: every layer's ``call`` is one line
that calls one of these. They use ``keras.ops``/``keras.random`` only, so they
run on every Keras backend, and follow PyTorch's numerics exactly, including
the derivative at ``x = 0`` (``negative_slope * g``, as PyTorch and TensorFlow
give it; ``jax.nn.leaky_relu`` gives ``g`` there), ``-0.0``, NaN and ±inf.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
from keras import ops

from keras_leaky import _noise

DEFAULT_NEGATIVE_SLOPE = 0.2
DEFAULT_RRELU_LOWER = 1.0 / 8.0
DEFAULT_RRELU_UPPER = 1.0 / 3.0


def check_number(name: str, value: Any, minimum: float | None = None) -> float:
    """Returns `value` as a float, or raises naming the argument.

    Raises `TypeError` for anything that is not a real number (strings and
    booleans included) and `ValueError` for a non-finite value or one below
    `minimum`.
    """
    allowed = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be {allowed}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ValueError(f"Argument `{name}` must be {allowed}. Received: {name}={value!r}")
    return number


def check_bounds(lower: Any, upper: Any) -> tuple[float, float]:
    """Validates RReLU bounds: finite, `0 <= lower <= upper`."""
    lower = check_number("lower", lower, minimum=0)
    upper = check_number("upper", upper, minimum=0)
    if lower > upper:
        raise ValueError(
            "Arguments `lower` and `upper` must satisfy 0 <= lower <= upper. "
            f"Received: lower={lower}, upper={upper}"
        )
    return lower, upper


def _as_float_tensor(x: Any) -> Any:
    """Converts `x` to a tensor; integer and bool inputs are cast to floatx."""
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    return x


def _like(value: Any, x: Any) -> Any:
    """`value` as a tensor of `x`'s dtype.

    Python numbers and lists are converted straight to that dtype: casting
    them would first make a float32 tensor, rounding a float64 slope.
    """
    if isinstance(value, (numbers.Real, list, tuple)):
        return ops.convert_to_tensor(value, dtype=x.dtype)
    return ops.cast(value, x.dtype)


def _fast_paths() -> Any:
    """The backend's fast-path module: `keras_leaky._tensorflow`, `_torch` or `_jax`.

    Each (see their docstrings for why) offers `leaky_relu(x, slope)`,
    `prelu(x, alpha)` and `rrelu_training(x, key, lower, upper)`, which
    return None where they do not apply; the portable forms below are the
    reference they are tested against. Other backends use the portable forms.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_leaky import _tensorflow

        return _tensorflow
    if backend == "torch":
        from keras_leaky import _torch

        return _torch
    if backend == "jax":
        from keras_leaky import _jax

        return _jax
    return None


def _leaky(x: Any, slope: Any) -> Any:
    # PyTorch's kernel: x > 0 ? x : x * slope. NaN fails `x > 0`, so it takes
    # the slope branch and stays NaN; the gradient there is slope * g.
    return ops.where(x > 0, x, ops.multiply(x, slope))


def leaky_relu(x: Any, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> Any:
    """Leaky rectified linear unit with a fixed slope (Maas et al., 2013).

    Formula:
    ```
    leaky_relu(x) = x                   if x > 0
    leaky_relu(x) = negative_slope * x  otherwise
    ```

    Example:
    >>> keras_leaky.ops.leaky_relu([-2.0, 0.0, 3.0], negative_slope=0.1)
    [-0.2, 0.0, 3.0]

    Args:
        x: Input tensor. Integer inputs are cast to `keras.config.floatx()`.
        negative_slope: Finite number >= 0. Defaults to 0.2, the slope of
            Keras's `"leaky_relu"` activation, so the name, this function and
            `keras_leaky.LeakyReLU()` all agree. PyTorch and Maas et al. use
            0.01: pass `negative_slope=0.01` for their setting.

    Returns:
        A tensor of the same shape and dtype as `x`.
    """
    negative_slope = check_number("negative_slope", negative_slope, minimum=0)
    x = _as_float_tensor(x)
    fast = _fast_paths()
    y = None if fast is None else fast.leaky_relu(x, negative_slope)
    return _leaky_relu(x, negative_slope) if y is None else y


def _leaky_relu(x: Any, negative_slope: float) -> Any:
    """The portable LeakyReLU: the reference the fast paths are tested against."""
    return _leaky(x, _like(negative_slope, x))


def prelu(x: Any, alpha: Any) -> Any:
    """Parametric rectified linear unit (He et al., 2015).

    Formula:
    ```
    prelu(x) = x          if x > 0
    prelu(x) = alpha * x  otherwise
    ```

    `alpha` broadcasts against `x` (a scalar, one value per channel, ...) and
    may be negative or zero: it is learned. Gradients w.r.t. `alpha` are
    `x * g` where `x <= 0` and exactly 0 elsewhere, also at `x = +inf`.

    Example:
    >>> keras_leaky.ops.prelu([[-2.0, 3.0], [-1.0, -4.0]], alpha=[0.1, 0.5])
    [[-0.2, 3.0], [-0.1, -2.0]]

    Args:
        x: Input tensor. Integer inputs are cast to `keras.config.floatx()`.
        alpha: Tensor of slopes, broadcastable to `x`'s shape.

    Returns:
        A tensor of the same shape and dtype as `x`.
    """
    if alpha is None or isinstance(alpha, (bool, str, bytes)):
        raise TypeError(
            "Argument `alpha` must be a number or a tensor of numbers broadcastable to `x`. "
            f"Received: alpha={alpha!r}"
        )
    x = _as_float_tensor(x)
    alpha = _like(alpha, x)
    fast = _fast_paths()
    y = None if fast is None else fast.prelu(x, alpha)
    return _prelu(x, alpha) if y is None else y


def _prelu(x: Any, alpha: Any) -> Any:
    """The portable PReLU: the reference the fast paths are tested against."""
    positive = x > 0
    # `alpha * where(positive, 0, x)` rather than `alpha * x`: where x = +inf
    # the unselected branch would otherwise give d/dalpha = 0 * inf = NaN.
    negative_part = ops.where(positive, ops.zeros_like(x), x)
    return ops.where(positive, x, ops.multiply(alpha, negative_part))


def rrelu(
    x: Any,
    lower: float = DEFAULT_RRELU_LOWER,
    upper: float = DEFAULT_RRELU_UPPER,
    training: bool = False,
    seed: int | keras.random.SeedGenerator | None = None,
) -> Any:
    """Randomized leaky rectified linear unit (Xu et al., 2015).

    Formula:
    ```
    rrelu(x) = x      if x > 0
    rrelu(x) = a * x  otherwise,
    a ~ U(lower, upper) per element      when training
    a = (lower + upper) / 2              at inference
    ```

    In training, each call draws a key from `seed` with `keras.random` and
    each element's slope is a hash of the key and the element's index
    (`keras_leaky._noise`): the same slopes on every backend for the same
    key (to the last bit, or one unit in it where XLA compiles the hash),
    and no random tensor to keep for the backward pass.

    At inference this is exactly `leaky_relu(x, (lower + upper) / 2)`. The
    slope itself is sampled, as in PyTorch. Xu et al. instead sample
    `a ~ U(3, 8)` and divide by it: their test slope is `1 / 5.5`; use
    `lower=1/8, upper=1/3` (their reciprocal range, PyTorch's default) or
    `lower=upper=1/5.5` at inference for their setting.

    Example:
    >>> keras_leaky.ops.rrelu([-2.0, 3.0], training=False)   # slope 11/48
    [-0.4583, 3.0]

    Args:
        x: Input tensor. Integer inputs are cast to `keras.config.floatx()`.
        lower: Finite lower bound of the slope, >= 0. Defaults to 1/8.
        upper: Finite upper bound of the slope, >= `lower`. Defaults to 1/3.
        training: Python bool: sample slopes (`True`) or use the mean.
        seed: An int or a `keras.random.SeedGenerator`. Inside compiled
            functions (`jax.jit`, `tf.function`) pass a `SeedGenerator` so
            that every step draws new noise; the layer `RReLU` does this.

    Returns:
        A tensor of the same shape and dtype as `x`.
    """
    lower, upper = check_bounds(lower, upper)
    if not training:
        return leaky_relu(x, (lower + upper) / 2.0)
    x = _as_float_tensor(x)
    key = _noise.draw_key(seed)
    fast = _fast_paths()
    y = None if fast is None else fast.rrelu_training(x, key, lower, upper)
    return _rrelu(x, key, lower, upper) if y is None else y


def _rrelu(x: Any, key: Any, lower: float, upper: float) -> Any:
    """RReLU in training with the slopes `key` gives (`keras_leaky._noise`).

    The portable form, and the reference the fast paths are tested against.
    """
    return _leaky(x, _noise.uniform_like(x, key, lower, upper))
