"""The portable forms: `keras.ops` only, so they run on every Keras backend.

They are the reference: each backend module (`tensorflow`, `jax`, `torch`)
runs its own fast form where one applies and is tested against these,
outputs and gradients, in every float dtype, at 0, NaN and +-inf. They
follow PyTorch's kernels: `x > 0 ? x : x * slope`, so NaN takes the slope
branch and stays NaN, and the derivative at `x = 0` is `slope * g`.

Inputs are float tensors (`keras_leaky.ops` has converted them); slopes and
bounds are Python floats, and `alpha` a tensor of `x`'s dtype.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from keras_leaky.backend import noise


def leaky(x: Any, slope: Any) -> Any:
    """`x` where `x > 0`, else `slope * x`; `slope` broadcasts against `x`."""
    return ops.where(x > 0, x, ops.multiply(x, slope))


def leaky_relu(x: Any, negative_slope: float) -> Any:
    """LeakyReLU with a fixed slope, converted straight to `x`'s dtype.

    Not cast from a float32 tensor, which would round a float64 slope.
    """
    return leaky(x, ops.convert_to_tensor(negative_slope, dtype=x.dtype))


def prelu(x: Any, alpha: Any) -> Any:
    """PReLU with `alpha` broadcast against `x`."""
    positive = x > 0
    # `alpha * where(positive, 0, x)` rather than `alpha * x`: where x = +inf
    # the unselected branch would otherwise give d/dalpha = 0 * inf = NaN.
    negative_part = ops.where(positive, ops.zeros_like(x), x)
    return ops.where(positive, x, ops.multiply(alpha, negative_part))


def rrelu_training(x: Any, key: Any, lower: float, upper: float) -> Any:
    """RReLU in training with the slopes `key` gives (`noise.uniform_like`)."""
    return leaky(x, noise.uniform_like(x, key, lower, upper))
