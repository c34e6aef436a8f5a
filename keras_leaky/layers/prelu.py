"""The `PReLU` layer: a leaky rectifier with a learned slope."""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras

from keras_leaky import _validation as validation
from keras_leaky import ops as leaky_ops
from keras_leaky.registration import register

SHARE_ALL = "all"
# A bound on the number of alphas, so that a tampered or mistaken shape (say a
# build_config of (None, 10**6, 10**6)) fails with an error instead of trying
# to allocate terabytes. 2**28 alphas (1 GiB in float32) is far beyond any
# real per-element PReLU.
MAX_ALPHAS = 2**28
FLOAT32_MAX = 3.4028234663852886e38


def _standardize_alpha_initializer(value: Any) -> keras.initializers.Initializer:
    # None would reach add_weight, which would quietly use Glorot for alpha.
    if value is None or isinstance(value, bool):
        raise TypeError(
            "Argument `alpha_initializer` must be a number, an initializer or its name. "
            f"Received: alpha_initializer={value!r}"
        )
    if isinstance(value, numbers.Real):
        value = validation.check_number("alpha_initializer", value)
        if abs(value) > FLOAT32_MAX:  # Keras's Constant goes through float32.
            raise ValueError(
                f"Argument `alpha_initializer` must be a number within float32's range "
                f"(|alpha| <= {FLOAT32_MAX:.4g}). Received: alpha_initializer={value!r}"
            )
        value = keras.initializers.Constant(value)
    try:
        return keras.initializers.get(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "Argument `alpha_initializer` must be a number (a constant initial alpha), "
            "a Keras initializer, or an initializer's name such as 'zeros'. "
            f"Received: alpha_initializer={value!r}"
        ) from error


def _standardize_shared_axes(shared_axes: Any) -> list[int] | str | None:
    """Checks `shared_axes` in time linear in its length, before any other work.

    An axis is an int in `[1 - MAX_RANK, MAX_RANK - 1]` other than 0, and
    there are at most `MAX_RANK` of them: no input has more axes.
    """
    if shared_axes is None or shared_axes == SHARE_ALL:
        return shared_axes
    axes = shared_axes
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = [axes]
    limit = validation.MAX_RANK
    if (
        not isinstance(axes, (list, tuple))
        or len(axes) > limit
        or not all(
            isinstance(axis, numbers.Integral)
            and not isinstance(axis, bool)
            and axis != 0
            and -limit < axis < limit
            for axis in axes
        )
    ):
        received = (
            f"a list of {len(axes)} axes"
            if isinstance(axes, (list, tuple)) and len(axes) > limit
            else f"shared_axes={shared_axes!r}"
        )
        raise ValueError(
            "Argument `shared_axes` must be None (one alpha per channel), 'all' (one "
            f"scalar alpha), or a list of at most {limit} non-zero int axes, each in "
            f"[{1 - limit}, {limit - 1}], to share alpha over (the batch axis 0 is always "
            f"shared). Received: {received}"
        )
    return [int(axis) for axis in axes]


@register
class PReLU(keras.layers.Layer):
    """Parametric rectified linear unit with a learned slope (He et al., 2015).

    Formula:
    ```
    f(x) = x          if x > 0
    f(x) = alpha * x  otherwise
    ```

    By default there is one `alpha` per channel, shared over the batch and
    spatial axes, as in He et al. and PyTorch's `PReLU(num_parameters=C)`:
    the layer works with variable spatial sizes (`Input((None, None, 3))`)
    and its parameter count does not depend on the image size. (Keras's own
    `keras.layers.PReLU` defaults to one alpha per element.)

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> layer = keras_leaky.PReLU()                  # alpha starts at 0.25
    >>> keras.ops.convert_to_numpy(layer(np.array([[-4.0, 2.0]]))).tolist()
    [[-1.0, 2.0]]
    >>> tuple(layer.alpha.shape)                     # one per channel
    (2,)

    Args:
        alpha_initializer: Initial alpha: a number (a constant, default 0.25
            as in He et al.) or any Keras initializer or its name.
        alpha_regularizer: Optional regularizer for alpha.
        alpha_constraint: Optional constraint for alpha.
        shared_axes: How alpha is shared.
            - `None` (default): one alpha per channel (the last axis, or axis
              1 with `data_format="channels_first"`).
            - `"all"`: one alpha for the whole input (of shape `(1,)`, as
              PyTorch's `PReLU()` weight).
            - a list of axes: Keras's `keras.layers.PReLU(shared_axes=...)`
              semantics, alpha shared over these axes and the batch axis, one
              per element elsewhere; `[]` is Keras's per-element default.
              Negative axes count from the end.
        data_format: `"channels_last"` or `"channels_first"`, only used to find
            the channel axis when `shared_axes=None`. Defaults to
            `keras.config.image_data_format()`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
        Performance on ImageNet Classification".
    """

    def __init__(
        self,
        alpha_initializer: Any = 0.25,
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: Any = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        initializer = _standardize_alpha_initializer(alpha_initializer)
        regularizer = keras.regularizers.get(alpha_regularizer)
        constraint = keras.constraints.get(alpha_constraint)
        shared_axes = _standardize_shared_axes(shared_axes)
        if data_format is None:
            data_format = keras.config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                "Argument `data_format` must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        super().__init__(**kwargs)
        self.alpha_initializer = initializer
        self.alpha_regularizer = regularizer
        self.alpha_constraint = constraint
        self.shared_axes = shared_axes
        self.data_format = data_format
        self.supports_masking = True

    def _alpha_shape(self, input_shape: tuple) -> tuple[tuple, dict[int, int]]:
        """Returns alpha's shape and the input axes whose sizes it fixes.

        Linear in the rank, which `check_input_shape` bounds first.
        """
        rank = len(input_shape)
        if self.shared_axes == SHARE_ALL:
            # One alpha, of shape (1,) as PyTorch's `PReLU()` weight and Keras's
            # fully shared alpha: constraints that work along an axis (`MaxNorm`)
            # need one. A scalar input keeps its shape with a scalar alpha.
            return ((1,) if rank else ()), {}
        if self.shared_axes is None:
            if rank < 2:
                raise ValueError(
                    "PReLU with one alpha per channel needs inputs of rank >= 2 "
                    f"(batch, ..., channels). Received: input_shape={input_shape}"
                )
            axis = rank - 1 if self.data_format == "channels_last" else 1
            shared = {i for i in range(rank) if i != axis}
        else:
            shared = {0}
            for axis in self.shared_axes:
                if not -rank < axis < rank:
                    raise ValueError(
                        f"Argument `shared_axes` has axis {axis}, out of range for "
                        f"inputs of rank {rank}. Received: shared_axes={self.shared_axes}, "
                        f"input_shape={input_shape}"
                    )
                shared.add(axis % rank)
        fixed = {i: input_shape[i] for i in range(rank) if i not in shared}
        unknown = [i for i, size in fixed.items() if size is None]
        if unknown:
            raise ValueError(
                f"PReLU needs known sizes on the axes it learns an alpha for: axes "
                f"{unknown} are None. Share alpha over them with `shared_axes`. "
                f"Received: input_shape={input_shape}"
            )
        shape = tuple(fixed.get(i, 1) for i in range(1, rank))
        if self.shared_axes is None and self.data_format == "channels_last":
            shape = (fixed[rank - 1],)  # (C,) broadcasts over any leading axes.
        if math.prod(shape) > MAX_ALPHAS:
            raise ValueError(
                f"PReLU would learn {math.prod(shape)} alphas (shape {shape}), more than "
                f"{MAX_ALPHAS}; share alpha over more axes with `shared_axes`. "
                f"Received: input_shape={input_shape}, shared_axes={self.shared_axes}"
            )
        return shape, fixed

    def build(self, input_shape: tuple) -> None:
        input_shape = validation.check_input_shape(input_shape)
        shape, fixed = self._alpha_shape(input_shape)
        self.alpha = self.add_weight(
            shape=shape,
            name="alpha",
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        self.input_spec = keras.layers.InputSpec(ndim=len(input_shape), axes=fixed)

    def call(self, inputs: Any) -> Any:
        return leaky_ops.prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return validation.check_input_shape(input_shape)

    def get_config(self) -> dict:
        config = {
            "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
            "data_format": self.data_format,
        }
        return {**super().get_config(), **config}
