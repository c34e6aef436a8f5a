"""He et al.'s initializers for layers followed by a leaky rectifier.

`LeakyHeNormal` and `LeakyHeUniform` are `keras.initializers.VarianceScaling`
with `scale = 2 / (1 + negative_slope**2)`, as Keras's `HeNormal` and
`HeUniform` are with `scale = 2`, so that the variance of the weights,

```
variance = 2 / ((1 + negative_slope**2) * fan)
fan = fan_in   if mode == "fan_in"
fan = fan_out  if mode == "fan_out"
```

keeps the activations' scale through `leaky_relu(x, negative_slope)`, as
`torch.nn.init.kaiming_normal_`/`kaiming_uniform_(w, a=negative_slope,
mode=mode, nonlinearity="leaky_relu")` do. The fans are Keras's: a Dense
kernel `(in, out)` has `fan_in = in`; a conv kernel `(*spatial, in, out)` has
`fan_in = prod(spatial) * in` and `fan_out = prod(spatial) * out` (PyTorch's
fans on its transposed layout). With `negative_slope=1` the variance is
LeCun's.

Seeding is Keras's: an instance returns the same values on every call, for an
int `seed` and for `seed=None` (a seed drawn at construction from Python's
`random`, which `keras.utils.set_random_seed` seeds); `clone()` of an unseeded
one draws a new seed. Pass distinct seeds, or distinct unseeded instances, for
distinct layers.
"""

from __future__ import annotations

from typing import Any

import keras

from keras_leaky._validation import check_number, check_seed
from keras_leaky.registration import register

MODES = ("fan_in", "fan_out")
# The largest slope: the variance 2 / ((1 + negative_slope**2) * fan) is then
# computable (negative_slope**2 overflows a float beyond 1.3e154) and its
# standard deviation a normal float32 (>= 1.2e-38, not 0) for any fan < 2**63.
MAX_NEGATIVE_SLOPE = 1e18


class _LeakyHe(keras.initializers.VarianceScaling):
    """`VarianceScaling(2 / (1 + negative_slope**2), mode, DISTRIBUTION, seed)`."""

    DISTRIBUTION = ""

    def __init__(
        self, negative_slope: float, seed: int | None = None, mode: str = "fan_in"
    ) -> None:
        negative_slope = check_number(
            "negative_slope",
            negative_slope,
            minimum=0,
            maximum=MAX_NEGATIVE_SLOPE,
            why="beyond, the weights' variance 2 / ((1 + negative_slope**2) * fan) "
            "underflows or overflows",
        )
        seed = check_seed(seed)
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(
                f"Argument `mode` must be one of {', '.join(map(repr, MODES))}. "
                f"Received: mode={mode!r}"
            )
        scale = 2.0 / (1.0 + negative_slope**2)
        super().__init__(scale=scale, mode=mode, distribution=self.DISTRIBUTION, seed=seed)
        self.negative_slope = negative_slope

    def get_config(self) -> dict[str, Any]:
        # The seed as given (None stays None), as Keras's own initializers save it.
        seed = super().get_config()["seed"]
        return {"negative_slope": self.negative_slope, "seed": seed, "mode": self.mode}


@register
class LeakyHeNormal(_LeakyHe):
    """He normal initializer for layers followed by a leaky rectifier (He et al., 2015).

    Formula:
    ```
    w ~ N(0, stddev**2),  stddev = sqrt(2 / ((1 + negative_slope**2) * fan))
    ```

    Untruncated, as PyTorch's: Keras's `HeNormal` truncates at two standard
    deviations (same variance). With `negative_slope=0` this equals
    `keras.initializers.VarianceScaling(2.0, distribution="untruncated_normal")`.
    The module docstring says how the fans and seeds work.

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> init = keras_leaky.initializers.LeakyHeNormal(negative_slope=0.01, seed=0)
    >>> w = init(shape=(256, 128))   # stddev = sqrt(2 / (1.0001 * 256)) ~ 0.0884
    >>> float(np.std(keras.ops.convert_to_numpy(w)))
    0.09
    >>> layer = keras.layers.Dense(
    ...     128, activation=keras_leaky.LeakyReLU(0.01), kernel_initializer=init
    ... )

    Args:
        negative_slope: Number in [0, 1e18], the slope of the leaky rectifier
            that follows the layer. Required: it should equal that layer's
            slope (0.01 for PyTorch's default `LeakyReLU`, 0.2 for Keras's and
            `keras_leaky.LeakyReLU()`'s), so no default would fit both.
        seed: Optional int in [0, 2**31 - 1] for reproducible values (the range
            every backend's generator accepts). Defaults to `None`: a seed is
            drawn from Python's `random` when the initializer is made.
        mode: `"fan_in"` (default, as in PyTorch and the paper's forward
            derivation: preserves activations' variance) or `"fan_out"`
            (preserves gradients' variance in the backward pass).

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
        Performance on ImageNet Classification".
    """

    DISTRIBUTION = "untruncated_normal"


@register
class LeakyHeUniform(_LeakyHe):
    """He uniform initializer for layers followed by a leaky rectifier (He et al., 2015).

    Formula:
    ```
    w ~ U(-limit, limit),  limit = sqrt(6 / ((1 + negative_slope**2) * fan))
    ```

    The variance `limit**2 / 3` is `LeakyHeNormal`'s. With `negative_slope=0`
    this is exactly Keras's `HeUniform`; with `negative_slope=1`,
    `LecunUniform`. PyTorch's `nn.Linear` and `nn.Conv*` default to
    `kaiming_uniform_(w, a=sqrt(5))`, i.e. `LeakyHeUniform(math.sqrt(5))`, a
    bound of `1 / sqrt(fan_in)`. The module docstring says how the fans and
    seeds work.

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> init = keras_leaky.initializers.LeakyHeUniform(negative_slope=0.2, seed=0)
    >>> w = init(shape=(3, 3, 64, 128))   # limit = sqrt(6 / (1.04 * 576)) ~ 0.1001
    >>> float(np.abs(keras.ops.convert_to_numpy(w)).max())
    0.1

    Args:
        negative_slope: Number in [0, 1e18], the slope of the rectifier that
            follows the layer (see `LeakyHeNormal`).
        seed: Optional int; see `LeakyHeNormal`.
        mode: `"fan_in"` (default) or `"fan_out"`; see `LeakyHeNormal`.

    Reference:
        He et al., 2015.
    """

    DISTRIBUTION = "uniform"
