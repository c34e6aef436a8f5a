"""The `LeakyHeUniform` initializer: He et al.'s uniform init for leaky rectifiers."""

from __future__ import annotations

import math
from typing import Any

import keras

from keras_leaky.initializers._he import _LeakyHeInitializer
from keras_leaky.registration import register


@register
class LeakyHeUniform(_LeakyHeInitializer):
    """He uniform initializer for layers followed by a leaky rectifier (He et al., 2015).

    Draws from a uniform distribution on `[-limit, limit]` with the variance
    that keeps activations' scale through `leaky_relu(x, negative_slope)`, as
    `torch.nn.init.kaiming_uniform_(w, a=negative_slope, mode=mode,
    nonlinearity="leaky_relu")` does.

    Formula:
    ```
    w ~ U(-limit, limit)
    limit = sqrt(6 / ((1 + negative_slope**2) * fan))
    fan = fan_in   if mode == "fan_in"
    fan = fan_out  if mode == "fan_out"
    ```

    The variance is `limit**2 / 3 = 2 / ((1 + negative_slope**2) * fan)`, the
    same as `LeakyHeNormal`'s. `fan_in` and `fan_out` are computed as
    `keras.initializers.VarianceScaling` computes them: a Dense kernel
    `(in, out)` has `fan_in = in`; a conv kernel `(*spatial, in, out)` has
    `fan_in = prod(spatial) * in` and `fan_out = prod(spatial) * out`
    (PyTorch's fans on its transposed layout). With `negative_slope=0` this is
    exactly Keras's `HeUniform`; with `negative_slope=1`, `LecunUniform`.

    Note: PyTorch's `nn.Linear` and `nn.Conv*` do not use this by default;
    they call `kaiming_uniform_(w, a=sqrt(5))`, i.e.
    `LeakyHeUniform(negative_slope=math.sqrt(5))`, a bound of `1 / sqrt(fan_in)`.

    Like Keras's initializers, an instance returns the same values on every
    call, for an int `seed` and for `seed=None` (a seed drawn at construction).
    Pass distinct seeds, or distinct unseeded instances, for distinct layers.

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> init = keras_leaky.initializers.LeakyHeUniform(negative_slope=0.2, seed=0)
    >>> w = init(shape=(3, 3, 64, 128))   # limit = sqrt(6 / (1.04 * 576)) ~ 0.1001
    >>> float(np.abs(keras.ops.convert_to_numpy(w)).max())
    0.1
    >>> layer = keras.layers.Conv2D(
    ...     128, 3, activation=keras_leaky.LeakyReLU(0.2), kernel_initializer=init
    ... )

    Args:
        negative_slope: Number in [0, 1e18], the slope of the leaky rectifier
            that follows the layer. Required: it should equal that layer's
            slope (0.01 for PyTorch's default `LeakyReLU`, 0.2 for Keras's and
            `keras_leaky.LeakyReLU()`'s), so no default would fit both.
        seed: Optional int for reproducible values. Defaults to `None`: a seed
            is drawn from Python's `random` (seeded by
            `keras.utils.set_random_seed`) when the initializer is made.
        mode: `"fan_in"` (default, as in PyTorch and the paper's forward
            derivation: preserves activations' variance) or `"fan_out"`
            (preserves gradients' variance in the backward pass).

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
        Performance on ImageNet Classification".
    """

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        limit = math.sqrt(3.0 * self.variance(shape))
        return keras.random.uniform(
            shape, minval=-limit, maxval=limit, dtype=dtype, seed=self._draw_seed
        )
