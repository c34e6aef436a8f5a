"""The `LeakyReLU` layer: a leaky rectifier with a fixed slope."""

from __future__ import annotations

from typing import Any

import keras

from keras_leaky import _validation as validation
from keras_leaky import ops as leaky_ops
from keras_leaky.registration import register


@register
class LeakyReLU(keras.layers.Layer):
    """Leaky rectified linear unit with a fixed slope (Maas et al., 2013).

    Formula:
    ```
    f(x) = x                   if x > 0
    f(x) = negative_slope * x  otherwise
    ```

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> layer = keras_leaky.LeakyReLU(negative_slope=0.1)
    >>> keras.ops.convert_to_numpy(layer(np.array([-3.0, 0.0, 2.0]))).tolist()
    [-0.3, 0.0, 2.0]

    Args:
        negative_slope: Finite number >= 0. Defaults to 0.2, the slope of
            Keras's `"leaky_relu"` activation name and function, so that
            `LeakyReLU()`, `keras_leaky.ops.leaky_relu` and the names
            `"leaky_relu"`/`"LeakyReLU"` all mean the same thing. (Keras's
            `keras.layers.LeakyReLU` uses 0.3; PyTorch and Maas et al. use
            0.01: pass `negative_slope=0.01` for that.)
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`,
            and `alpha`, the legacy Keras 2 spelling of `negative_slope`,
            taken (as Keras's own `LeakyReLU` takes it) so that old configs
            load, and stored as `negative_slope`. Passing both raises, unless
            `negative_slope` has its default value (then `alpha` is taken).

    Reference:
        Maas et al., 2013, "Rectifier Nonlinearities Improve Neural Network
        Acoustic Models".
    """

    def __init__(
        self, negative_slope: float = leaky_ops.DEFAULT_NEGATIVE_SLOPE, **kwargs: Any
    ) -> None:
        if "alpha" in kwargs:
            alpha = kwargs.pop("alpha")
            if negative_slope != leaky_ops.DEFAULT_NEGATIVE_SLOPE:
                raise ValueError(
                    "Pass either `negative_slope` or its legacy spelling `alpha`, "
                    f"not both. Received: negative_slope={negative_slope}, alpha={alpha}"
                )
            negative_slope = alpha
        negative_slope = validation.check_number("negative_slope", negative_slope, minimum=0)
        super().__init__(**kwargs)
        self.negative_slope = negative_slope
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs: Any) -> Any:
        return leaky_ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return validation.check_input_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}
