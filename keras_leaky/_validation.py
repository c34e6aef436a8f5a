"""Argument validation shared by the functions, layers and initializers.

Every check raises a `TypeError` (wrong kind of value) or `ValueError` (out of
range) whose message names the argument, the allowed range and what was
received, before any other work, in time linear in the argument's size.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sized
from typing import Any

import keras
import numpy as np

# The most axes an input may have: TensorFlow's limit on a tensor's rank
# (`TensorShape::MaxDimensions()`). Keras sets none of its own; beyond it a
# tampered shape crashes XLA on JAX, or makes per-axis work quadratic.
MAX_RANK = 254
# Seeds in [0, 2**31 - 1]: the range every backend's random generator accepts.
MAX_SEED = 2**31 - 1


def check_number(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    why: str = "",
) -> float:
    """Returns `value` as a float, or raises naming the argument.

    Raises `TypeError` for anything that is not a real number (strings and
    booleans included) and `ValueError` for a non-finite value (a Python int
    too large for a float included) or one outside `[minimum, maximum]`.
    `why`, if given, says in the message why the range is what it is.
    """
    if maximum is not None:
        allowed = f"a finite number in [{minimum:g}, {maximum:g}]"
    else:
        allowed = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    allowed += f" ({why})" if why else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be {allowed}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if (
        not math.isfinite(number)
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        raise ValueError(f"Argument `{name}` must be {allowed}. Received: {name}={value!r}")
    return number


def check_bounds(lower: Any, upper: Any) -> tuple[float, float]:
    """Validates RReLU bounds: finite, `0 <= lower <= upper`, finite `lower + upper`.

    The sum must be finite because the slope at inference is its half: with
    `lower=1e308, upper=1.7e308` it would be infinite.
    """
    lower = check_number("lower", lower, minimum=0)
    upper = check_number("upper", upper, minimum=0)
    if lower > upper:
        raise ValueError(
            "Arguments `lower` and `upper` must satisfy 0 <= lower <= upper. "
            f"Received: lower={lower}, upper={upper}"
        )
    if not math.isfinite(lower + upper):
        raise ValueError(
            "Arguments `lower` and `upper` must have a finite sum: the slope at inference "
            f"is (lower + upper) / 2. Received: lower={lower}, upper={upper}"
        )
    return lower, upper


def check_seed(seed: Any) -> int | None:
    """Validates an int seed: None or an int in `[0, MAX_SEED]`."""
    if seed is None:
        return None
    message = f"Argument `seed` must be None or an int in [0, {MAX_SEED}]. Received: seed={seed!r}"
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(message)
    if not 0 <= seed <= MAX_SEED:  # Beyond it, some backend's seed type overflows.
        raise ValueError(message)
    return seed


def check_input_shape(input_shape: Any) -> tuple:
    """Returns `input_shape` as a tuple, or raises a `ValueError` naming it.

    A shape is a sequence of at most `MAX_RANK` sizes, each a non-negative int
    or None. Checked in time linear in its length and the rank first, so that
    a tampered `.keras` file fails fast, before any work per axis.
    """
    if isinstance(input_shape, (str, bytes, Mapping)) or not isinstance(input_shape, Sized):
        raise _malformed_shape(input_shape)
    if len(input_shape) > MAX_RANK:
        raise ValueError(
            f"Argument `input_shape` may have at most {MAX_RANK} axes (TensorFlow's limit "
            f"on a tensor's rank). Received: an input_shape of rank {len(input_shape)}"
        )
    shape = tuple(input_shape)
    if not all(
        size is None
        or (isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 0)
        for size in shape
    ):
        raise _malformed_shape(input_shape)
    return shape


def _malformed_shape(input_shape: Any) -> ValueError:
    return ValueError(
        "Argument `input_shape` must be a tuple of non-negative ints or None. "
        f"Received: input_shape={input_shape!r}"
    )


def check_real_dtype(name: str, dtype: Any) -> str:
    """`dtype` standardized; a complex one raises a `TypeError` naming it.

    A rectifier compares with 0, which complex numbers do not support; casting
    them to a real dtype would silently drop the imaginary part.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype.startswith("complex"):
        raise TypeError(
            f"Argument `{name}` must have a real dtype: a leaky rectifier is not defined "
            "on complex numbers, and casting would drop the imaginary part. Apply it to "
            "the real and imaginary parts separately (`keras.ops.real`, `keras.ops.imag`)."
            f" Received: {name} of dtype {dtype}"
        )
    return dtype


def check_rank(x: Any) -> None:
    """Raises a `ValueError` if tensor `x` has more than `MAX_RANK` axes."""
    shape = x.shape  # A TensorFlow shape's rank is None where it is unknown.
    rank = shape.rank if hasattr(shape, "rank") else len(shape)
    if rank is not None and rank > MAX_RANK:
        raise ValueError(
            f"Argument `x` may have at most {MAX_RANK} axes (TensorFlow's limit on a "
            f"tensor's rank). Received: x of rank {rank}"
        )


def check_alpha(alpha: Any) -> tuple:
    """Checks that PReLU's `alpha` is real numbers, and returns its shape."""
    if alpha is None or isinstance(alpha, (bool, str, bytes)):
        raise _not_real_numbers(alpha)
    if hasattr(alpha, "dtype") and hasattr(alpha, "shape"):
        check_real_dtype("alpha", alpha.dtype)
        return tuple(alpha.shape)
    try:
        values = np.asarray(alpha)
        if values.dtype.kind == "O":  # Python ints beyond int64, or not numbers.
            values = values.astype("float64")
    except OverflowError as error:
        raise ValueError(
            "Argument `alpha` must hold finite numbers within a float's range. "
            f"Received: alpha={alpha!r}"
        ) from error
    except (TypeError, ValueError) as error:
        raise _not_real_numbers(alpha) from error
    check_real_dtype("alpha", values.dtype)
    if values.dtype.kind not in "iuf":
        raise _not_real_numbers(alpha)
    return values.shape


def _not_real_numbers(alpha: Any) -> TypeError:
    # Built only when raising: the repr of a tensor alpha is costly, and fails
    # inside `torch.export`'s tracing.
    return TypeError(
        "Argument `alpha` must be a real number or a tensor of real numbers broadcastable "
        f"to `x`. Received: alpha={alpha!r}"
    )


def broadcast_shape(x_shape: tuple, alpha_shape: tuple) -> tuple:
    """NumPy's broadcast of `x`'s and `alpha`'s shapes, as Keras infers it: None is any size.

    Raises a `ValueError` naming both shapes where they do not broadcast.
    """
    rank = max(len(x_shape), len(alpha_shape))
    x_padded = (1,) * (rank - len(x_shape)) + tuple(x_shape)
    alpha_padded = (1,) * (rank - len(alpha_shape)) + tuple(alpha_shape)
    shape = []
    for x_size, alpha_size in zip(x_padded, alpha_padded, strict=True):
        if x_size == 1 or (x_size is None and alpha_size != 1):
            shape.append(alpha_size)
        elif alpha_size in (1, None, x_size):
            shape.append(x_size)
        else:
            raise ValueError(
                f"Argument `alpha` of shape {tuple(alpha_shape)} does not broadcast against "
                f"`x` of shape {tuple(x_shape)}."
            )
    return tuple(shape)
