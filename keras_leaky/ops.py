"""Functional forms of the leaky-rectifier family.

Every layer's ``call`` is one line that calls one of these. Each checks its
arguments, converts the input to a float tensor, and calls the function of
the same name in `keras_leaky.backend`, picked once for the Keras backend:
the portable ``keras.ops`` forms, or a backend's faster form that is tested
against them. Both follow PyTorch's numerics exactly, including the
derivative at ``x = 0`` (``negative_slope * g``, as PyTorch and TensorFlow
give it; ``jax.nn.leaky_relu`` gives ``g`` there), ``-0.0``, NaN and ±inf.

On a symbolic input (a `keras.KerasTensor`, such as a `keras.Input`) each
function records one node of its `keras.Operation` (`LeakyRelu`, `Prelu`,
`Rrelu`) and returns a `keras.KerasTensor`, as `keras.ops.leaky_relu` does:
a functional model built on them runs the same code when called, and saves
and reloads as a `.keras` file. Arguments are checked at the call either way.
"""

from __future__ import annotations

import numbers
from typing import Any

import keras
from keras import ops

from keras_leaky import backend
from keras_leaky._validation import (
    broadcast_shape,
    check_alpha,
    check_bounds,
    check_number,
    check_rank,
    check_real_dtype,
    check_seed,
)
from keras_leaky.registration import register

__all__ = ["leaky_relu", "prelu", "rrelu"]

DEFAULT_NEGATIVE_SLOPE = 0.2
DEFAULT_RRELU_LOWER = 1.0 / 8.0
DEFAULT_RRELU_UPPER = 1.0 / 3.0


def _output_dtype(x: Any) -> str:
    """The dtype the functions return for `x`: its own if float, else floatx."""
    dtype = check_real_dtype("x", x.dtype)
    return dtype if keras.backend.is_float_dtype(dtype) else keras.config.floatx()


def _as_float_tensor(x: Any) -> Any:
    """Converts `x` to a tensor; integer and bool inputs are cast to floatx."""
    x = ops.convert_to_tensor(x)
    check_rank(x)
    dtype = _output_dtype(x)
    if dtype != keras.backend.standardize_dtype(x.dtype):
        x = ops.cast(x, dtype)
    return x


def _output_spec(x: keras.KerasTensor, shape: tuple | None = None) -> keras.KerasTensor:
    """What a function returns for symbolic `x`: `x`'s shape (or `shape`), a float dtype."""
    check_rank(x)
    shape = tuple(x.shape) if shape is None else shape
    return keras.KerasTensor(shape, dtype=_output_dtype(x))


def _like(value: Any, x: Any) -> Any:
    """`value` (PReLU's alpha) as a tensor of `x`'s dtype.

    Python numbers and lists are converted straight to that dtype: casting
    them would first make a float32 tensor, rounding a float64 slope.
    """
    if isinstance(value, (numbers.Real, list, tuple)):
        return ops.convert_to_tensor(value, dtype=x.dtype)
    return ops.cast(value, x.dtype)


def leaky_relu(x: Any, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> Any:
    """Leaky rectified linear unit with a fixed slope (Maas et al., 2013).

    Formula:
    ```
    leaky_relu(x) = x                   if x > 0
    leaky_relu(x) = negative_slope * x  otherwise
    ```

    Example:
    >>> import keras, keras_leaky
    >>> y = keras_leaky.ops.leaky_relu([-2.0, 0.0, 3.0], negative_slope=0.1)
    >>> keras.ops.convert_to_numpy(y).tolist()
    [-0.2, 0.0, 3.0]

    Args:
        x: Input tensor, real (complex inputs raise a `TypeError`). Integer
            inputs are cast to `keras.config.floatx()`.
        negative_slope: Finite number >= 0. Defaults to 0.2, the slope of
            Keras's `"leaky_relu"` activation, so the name, this function and
            `keras_leaky.LeakyReLU()` all agree. PyTorch and Maas et al. use
            0.01: pass `negative_slope=0.01` for their setting.

    Returns:
        A tensor of the same shape and dtype as `x` (a `keras.KerasTensor`
        for a symbolic `x`).
    """
    negative_slope = check_number("negative_slope", negative_slope, minimum=0)
    if isinstance(x, keras.KerasTensor):
        return LeakyRelu(negative_slope).symbolic_call(x)
    return _run_leaky_relu(x, negative_slope)


def _run_leaky_relu(x: Any, negative_slope: float) -> Any:
    return backend.leaky_relu(_as_float_tensor(x), negative_slope)


@register
class LeakyRelu(keras.Operation):
    """`leaky_relu` as one node of a functional graph, with `negative_slope` in its config.

    Args:
        negative_slope: Finite number >= 0. Defaults to 0.2.
        name: Optional name of the operation.
    """

    def __init__(
        self, negative_slope: float = DEFAULT_NEGATIVE_SLOPE, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self.negative_slope = check_number("negative_slope", negative_slope, minimum=0)

    def call(self, x: Any) -> Any:
        return _run_leaky_relu(x, self.negative_slope)

    def compute_output_spec(self, x: keras.KerasTensor) -> keras.KerasTensor:
        return _output_spec(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


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
    >>> import keras, keras_leaky
    >>> y = keras_leaky.ops.prelu([[-2.0, 3.0], [-1.0, -4.0]], alpha=[0.1, 0.5])
    >>> keras.ops.convert_to_numpy(y).tolist()
    [[-0.2, 3.0], [-0.1, -2.0]]

    Args:
        x: Input tensor, real (complex inputs raise a `TypeError`). Integer
            inputs are cast to `keras.config.floatx()`.
        alpha: Real number or tensor of slopes, broadcastable to `x`'s shape.

    Returns:
        A tensor of `x`'s dtype and the broadcast shape of `x` and `alpha`
        (`x`'s own for an `alpha` that broadcasts into it); a
        `keras.KerasTensor` if `x` or `alpha` is symbolic.
    """
    check_alpha(alpha)
    if isinstance(x, keras.KerasTensor) or isinstance(alpha, keras.KerasTensor):
        if not isinstance(x, keras.KerasTensor):
            x = ops.convert_to_tensor(x)
        return Prelu().symbolic_call(x, alpha)
    return _run_prelu(x, alpha)


def _run_prelu(x: Any, alpha: Any) -> Any:
    x = _as_float_tensor(x)
    return backend.prelu(x, _like(alpha, x))


@register
class Prelu(keras.Operation):
    """`prelu` as one node of a functional graph: `alpha` is its second input.

    A constant `alpha` (a number, list or NumPy array) is saved with the
    graph, as Keras saves the constant operands of its own operations.

    Args:
        name: Optional name of the operation.
    """

    def call(self, x: Any, alpha: Any) -> Any:
        return _run_prelu(x, alpha)

    def compute_output_spec(self, x: Any, alpha: Any) -> keras.KerasTensor:
        return _output_spec(x, broadcast_shape(x.shape, check_alpha(alpha)))


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
    (`keras_leaky.backend.noise`): the same slopes on every backend for the same
    key (to the last bit, or one unit in it where XLA compiles the hash),
    and no random tensor to keep for the backward pass.

    At inference this is exactly `leaky_relu(x, (lower + upper) / 2)`.

    Convention: the slope itself is sampled, as in PyTorch's `RReLU`. Xu et
    al. sample `a ~ U(3, 8)` and divide by it, so their test slope is
    `1 / 5.5 = 0.182`; the defaults 1/8 and 1/3 are that range's
    reciprocals, whose mean (11/48 = 0.229) differs. For the paper's setting
    exactly, train with `lower=1/8, upper=1/3` and, at inference, use
    `leaky_relu(x, 1/5.5)` (or serve a `keras_leaky.LeakyReLU(1/5.5)` layer
    in the RReLU's place: it has no weights).

    On a symbolic `x` (a functional model), inference records a `LeakyRelu`
    node, and training an `Rrelu` node, which needs an int `seed`: the same
    slopes at every call, as eagerly. A `SeedGenerator` (or `seed=None`, the
    global one) is state that a functional graph cannot own, track or save,
    so it raises a `TypeError`: use the `keras_leaky.RReLU` layer, which owns
    its generator and draws noise only in training, as Keras's `Dropout` does.

    Example:
    >>> import keras, keras_leaky
    >>> y = keras_leaky.ops.rrelu([-2.0, 3.0], training=False)   # slope 11/48
    >>> keras.ops.convert_to_numpy(y).tolist()
    [-0.4583, 3.0]

    Args:
        x: Input tensor, real (complex inputs raise a `TypeError`). Integer
            inputs are cast to `keras.config.floatx()`.
        lower: Finite lower bound of the slope, >= 0. Defaults to 1/8.
        upper: Finite upper bound of the slope, >= `lower`, with a finite
            `lower + upper`. Defaults to 1/3.
        training: Python bool: sample slopes (`True`) or use the mean.
        seed: An int in `[0, 2**31 - 1]` or a `keras.random.SeedGenerator`.
            Inside compiled functions (`jax.jit`, `tf.function`) pass a
            `SeedGenerator` so that every step draws new noise; the layer
            `RReLU` does this.

    Returns:
        A tensor of the same shape and dtype as `x` (a `keras.KerasTensor`
        for a symbolic `x`).
    """
    lower, upper = check_bounds(lower, upper)
    if not training:
        return leaky_relu(x, (lower + upper) / 2.0)
    if not isinstance(seed, keras.random.SeedGenerator):
        seed = check_seed(seed)
    if isinstance(x, keras.KerasTensor):
        if not isinstance(seed, int):
            raise TypeError(
                "`rrelu(training=True)` on a symbolic input needs an int `seed`: a functional "
                "graph cannot own, track or save a SeedGenerator's state. For new noise at "
                "every training step, use the `keras_leaky.RReLU` layer, which owns its "
                f"SeedGenerator and draws noise only in training. Received: seed={seed!r}"
            )
        return Rrelu(lower, upper, seed=seed).symbolic_call(x)
    return _run_rrelu(x, lower, upper, seed)


def _run_rrelu(
    x: Any, lower: float, upper: float, seed: int | keras.random.SeedGenerator | None
) -> Any:
    x = _as_float_tensor(x)
    return backend.rrelu_training(x, backend.draw_key(seed), lower, upper)


@register
class Rrelu(keras.Operation):
    """`rrelu(training=True)` with an int `seed` as one node of a functional graph.

    Every call draws the same slopes, as `rrelu` does eagerly with an int
    seed. (At inference `rrelu` records a `LeakyRelu` node instead.)

    Args:
        lower: Finite lower bound of the slope, >= 0. Defaults to 1/8.
        upper: Finite upper bound, >= `lower`. Defaults to 1/3.
        seed: Int in `[0, 2**31 - 1]`, required: the slopes it gives are the
            same at every call.
        name: Optional name of the operation.
    """

    def __init__(
        self,
        lower: float = DEFAULT_RRELU_LOWER,
        upper: float = DEFAULT_RRELU_UPPER,
        *,
        seed: int,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.lower, self.upper = check_bounds(lower, upper)
        if seed is None:
            raise TypeError(f"Argument `seed` must be an int. Received: seed={seed!r}")
        self.seed = check_seed(seed)

    def call(self, x: Any) -> Any:
        return _run_rrelu(x, self.lower, self.upper, self.seed)

    def compute_output_spec(self, x: keras.KerasTensor) -> keras.KerasTensor:
        return _output_spec(x)

    def get_config(self) -> dict:
        config = {"lower": self.lower, "upper": self.upper, "seed": self.seed}
        return {**super().get_config(), **config}
