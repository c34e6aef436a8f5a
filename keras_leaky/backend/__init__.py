"""What runs for `keras_leaky.ops`: the backend's functions, chosen once, at import.

As Keras picks its own backend module from `keras.backend.backend()`, this
package picks one of `keras_leaky.backend.tensorflow`, `.jax` or `.torch`
(any other backend gets `.portable`). Each defines the same three functions,
completely, on float tensors already checked and converted by `keras_leaky.ops`:

- `leaky_relu(x, negative_slope)`: a Python float slope.
- `prelu(x, alpha)`: `alpha` a tensor of `x`'s dtype that broadcasts against `x`.
- `rrelu_training(x, key, lower, upper)`: the slopes that `key` (`noise.draw_key`)
  gives, in `[lower, upper)`.

`portable` holds the `keras.ops` forms: the reference every backend's
functions are tested against, and what they call where their own fast form
does not apply. `noise` holds RReLU's hashed slopes. Imports run one way:
`keras_leaky.ops` -> this package -> a backend module -> `portable` -> `noise`.
"""

from __future__ import annotations

import keras

from keras_leaky.backend.noise import draw_key

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    from keras_leaky.backend.tensorflow import leaky_relu, prelu, rrelu_training
elif BACKEND == "jax":
    from keras_leaky.backend.jax import leaky_relu, prelu, rrelu_training
elif BACKEND == "torch":
    from keras_leaky.backend.torch import leaky_relu, prelu, rrelu_training
else:
    from keras_leaky.backend.portable import leaky_relu, prelu, rrelu_training

__all__ = ["BACKEND", "draw_key", "leaky_relu", "prelu", "rrelu_training"]
