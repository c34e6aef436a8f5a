"""The `RReLU` layer: a leaky rectifier with a randomized slope."""

from __future__ import annotations

from typing import Any

import keras

from keras_leaky import _validation as validation
from keras_leaky import ops as leaky_ops
from keras_leaky.registration import register


@register
class RReLU(keras.layers.Layer):
    """Randomized leaky rectified linear unit (Xu et al., 2015).

    Formula:
    ```
    f(x) = x      if x > 0
    f(x) = a * x  otherwise,
    a ~ U(lower, upper), drawn per element     in training
    a = (lower + upper) / 2                    at inference
    ```

    At inference the layer is exactly `LeakyReLU((lower + upper) / 2)`. It
    follows Keras's `training` flag: noise in `fit`, none in `predict` and
    `evaluate`, and the flag reaches it when it is used as another layer's
    activation. It draws new noise on every step, also under `tf.function`,
    XLA and `jax.jit`, from its own `keras.random.SeedGenerator`, and is
    reproducible for a given `seed`.

    The slope itself is sampled, as in PyTorch's `RReLU`; for the paper's
    test-time slope (1/5.5) see the convention in `keras_leaky.ops.rrelu`.

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> x = np.array([-1.0, 2.0])
    >>> layer = keras_leaky.RReLU(lower=0.1, upper=0.3, seed=0)
    >>> keras.ops.convert_to_numpy(layer(x)).tolist()   # inference: slope 0.2
    [-0.2, 2.0]
    >>> y = keras.ops.convert_to_numpy(layer(x, training=True))
    >>> bool(-0.3 <= y[0] <= -0.1), float(y[1])      # slope in [0.1, 0.3]
    (True, 2.0)

    Args:
        lower: Finite lower bound of the slope, >= 0. Defaults to 1/8.
        upper: Finite upper bound, >= `lower`, with a finite `lower + upper`
            (the inference slope is its half). Defaults to 1/3.
        seed: Optional int in [0, 2**31 - 1] for reproducible noise (the
            range every backend's random generator accepts).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Input tensor of any shape.
        training: Python bool, whether to sample slopes. Set by Keras.

    Reference:
        Xu et al., 2015, "Empirical Evaluation of Rectified Activations in
        Convolutional Network".
    """

    def __init__(
        self,
        lower: float = leaky_ops.DEFAULT_RRELU_LOWER,
        upper: float = leaky_ops.DEFAULT_RRELU_UPPER,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        lower, upper = validation.check_bounds(lower, upper)
        seed = validation.check_seed(seed)
        super().__init__(**kwargs)
        self.lower = lower
        self.upper = upper
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs: Any, training: bool = False) -> Any:
        return leaky_ops.rrelu(inputs, self.lower, self.upper, training, self.seed_generator)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return validation.check_input_shape(input_shape)

    def get_config(self) -> dict:
        config = {"lower": self.lower, "upper": self.upper, "seed": self.seed}
        return {**super().get_config(), **config}
