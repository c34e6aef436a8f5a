"""Shared machinery of the leaky He initializers: validation, fans, variance.

Private: the public classes are `LeakyHeNormal` and `LeakyHeUniform`. Both
subclass `_LeakyHeInitializer`, which holds the arguments, their validation and
the config, and differ only in the distribution they draw from.
"""

from __future__ import annotations

import random
from typing import Any

import keras

from keras_leaky.ops import check_number

MODES = ("fan_in", "fan_out")
# The largest slope: the variance 2 / ((1 + negative_slope**2) * fan) is then
# computable (negative_slope**2 overflows a float beyond 1.3e154) and its
# standard deviation a normal float32 (>= 1.2e-38, not 0) for any fan < 2**63.
MAX_NEGATIVE_SLOPE = 1e18


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Returns `(fan_in, fan_out)` of a weight shape, as Keras computes them.

    The same rule as `keras.initializers.VarianceScaling` (re-written here on
    public API rather than imported from `keras.src`): a scalar has fans 1; a
    vector, its length; a matrix `(in, out)`, its two dimensions; a
    convolution kernel `(*spatial, in, out)`, the receptive field size times
    `in` and `out`. For Keras's layouts this equals PyTorch's
    `_calculate_fan_in_and_fan_out` on the transposed tensor (Linear
    `(out, in)`, Conv `(out, in, *spatial)`).
    """
    shape = tuple(int(dim) for dim in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = 1
    for dim in shape[:-2]:
        receptive_field *= dim
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def he_variance(negative_slope: float, shape: tuple[int, ...], mode: str) -> float:
    """Variance `2 / ((1 + negative_slope**2) * fan)` of He et al. (2015).

    `fan` is `fan_in` or `fan_out` per `mode`, at least 1 (so empty shapes do
    not divide by zero, as in Keras). Computed as Keras's `VarianceScaling`
    does (`scale / fan`), so that with `negative_slope=0` the result is
    identical to Keras's He initializers.
    """
    fan_in, fan_out = compute_fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    scale = 2.0 / (1.0 + negative_slope**2)
    return scale / max(1.0, fan)


class _LeakyHeInitializer(keras.initializers.Initializer):
    """Base of the leaky He initializers: arguments, validation and config.

    Seeding follows Keras's random initializers: an int `seed` is passed to
    `keras.random` as is, and `seed=None` draws an int from Python's `random`
    at construction (which `keras.utils.set_random_seed` seeds). Either way
    one instance returns the same values on every call; `clone()` of an
    unseeded one draws a new seed.
    """

    def __init__(
        self, negative_slope: float, seed: int | None = None, mode: str = "fan_in"
    ) -> None:
        self.negative_slope = check_number(
            "negative_slope",
            negative_slope,
            minimum=0,
            maximum=MAX_NEGATIVE_SLOPE,
            why="beyond, the weights' variance 2 / ((1 + negative_slope**2) * fan) "
            "underflows or overflows",
        )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(
                f"Argument `mode` must be one of {', '.join(map(repr, MODES))}. "
                f"Received: mode={mode!r}"
            )
        self.seed = seed
        self.mode = mode
        # Same range as Keras's own default seeds (`make_default_seed`).
        self._draw_seed = seed if seed is not None else random.randint(1, 10**9)

    def variance(self, shape: tuple[int, ...]) -> float:
        """The variance of the drawn weights for a weight of this `shape`."""
        return he_variance(self.negative_slope, shape, self.mode)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope, "seed": self.seed, "mode": self.mode}
