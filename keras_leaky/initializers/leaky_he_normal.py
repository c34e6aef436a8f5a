"""The `LeakyHeNormal` initializer: He et al.'s normal init for leaky rectifiers."""

from __future__ import annotations

import math
from typing import Any

import keras

from keras_leaky.initializers._he import _LeakyHeInitializer
from keras_leaky.registration import register


@register
class LeakyHeNormal(_LeakyHeInitializer):
    """He normal initializer for layers followed by a leaky rectifier (He et al., 2015).

    Draws from a normal distribution (not truncated) with mean 0 and the
    variance that keeps activations' scale through `leaky_relu(x,
    negative_slope)`, as `torch.nn.init.kaiming_normal_(w, a=negative_slope,
    mode=mode, nonlinearity="leaky_relu")` does.

    Formula:
    ```
    w ~ N(0, stddev**2)
    stddev = sqrt(2 / ((1 + negative_slope**2) * fan))
    fan = fan_in   if mode == "fan_in"
    fan = fan_out  if mode == "fan_out"
    ```

    `fan_in` and `fan_out` are computed as `keras.initializers.VarianceScaling`
    computes them: a Dense kernel `(in, out)` has `fan_in = in`; a conv kernel
    `(*spatial, in, out)` has `fan_in = prod(spatial) * in` and
    `fan_out = prod(spatial) * out` (PyTorch's fans on its transposed layout).
    With `negative_slope=0` this is He normal for ReLU, but untruncated: Keras's
    `HeNormal` truncates at two standard deviations (same variance); use
    `keras.initializers.VarianceScaling(2.0, distribution="untruncated_normal")`
    to see the two agree. With `negative_slope=1` it is LeCun's variance.

    Like Keras's initializers, an instance returns the same values on every
    call, for an int `seed` and for `seed=None` (a seed drawn at construction).
    Pass distinct seeds, or distinct unseeded instances, for distinct layers.

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
        stddev = math.sqrt(self.variance(shape))
        return keras.random.normal(
            shape, mean=0.0, stddev=stddev, dtype=dtype, seed=self._draw_seed
        )
