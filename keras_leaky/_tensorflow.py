"""TensorFlow fast paths for `keras_leaky.ops`, and why they exist.

The portable `keras.ops` forms in `keras_leaky.ops` are the reference; on the
TensorFlow backend `leaky_relu` and `prelu` go through these instead, which
give the same outputs and gradients (tested in `tests/fast_path_test.py`) and
differ in two ways that users see:

- **Deployment.** A TFLite conversion of an exported model maps them to the
  native `LEAKY_RELU` and `PRELU` kernels. The converter recognises
  `tf.nn.leaky_relu` and Keras's PReLU pattern `relu(x) + (-alpha) * relu(-x)`
  with `alpha` of rank `rank(x) - 1`; a `where(x > 0, x, alpha * x)` stays
  three generic ops.
- **Gradients.** `tf.custom_gradient` gives PyTorch's derivatives (the slope
  at `x = 0`, where the `relu` pattern's own gradient would be 0) and keeps
  only what the backward pass needs: LeakyReLU keeps its *output*, which the
  next layer keeps anyway (`y > 0` exactly where `x > 0` for a slope >= 0),
  not its input as TensorFlow's own `LeakyRelu` gradient does.

RReLU in training keeps its output and a seed, and draws its slopes again in
the backward pass, instead of keeping a tensor of slopes and its input; under
`tf.distribute` its noise differs per replica (`_draw_seed`).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def leaky_relu(x: tf.Tensor, negative_slope: float) -> tf.Tensor | None:
    """`tf.nn.leaky_relu` with a gradient computed from the output.

    None in float64: `LeakyRelu` takes the slope as a float32 attribute,
    which would round it; the portable form keeps it exact.
    """
    if x.dtype == tf.float64:
        return None

    @tf.custom_gradient
    def forward(x: tf.Tensor) -> tuple[tf.Tensor, Any]:
        y = tf.nn.leaky_relu(x, alpha=negative_slope)

        def backward(upstream: tf.Tensor) -> tf.Tensor:
            return tf.raw_ops.LeakyReluGrad(gradients=upstream, features=y, alpha=negative_slope)

        return y, backward

    return forward(x)


def _alpha_for_tflite(alpha: tf.Tensor, rank: int) -> tf.Tensor:
    """Reshapes `alpha` to rank `rank - 1`, the shape TFLite's PRELU expects.

    Leading size-1 axes are added or dropped; an `alpha` that varies over the
    batch axis is returned unchanged (it still computes right, as three ops).
    """
    shape = alpha.shape
    if rank < 2 or shape.rank is None:
        return alpha
    if shape.rank < rank:
        return tf.reshape(alpha, [1] * (rank - 1 - shape.rank) + shape.as_list())
    if shape.rank == rank and shape[0] == 1:
        return tf.reshape(alpha, shape.as_list()[1:])
    return alpha


def prelu(x: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """PReLU in the pattern TFLite maps to `PRELU`, with PyTorch's gradients.

    `alpha` has `x`'s dtype and broadcasts against `x`.
    """
    alpha = _alpha_for_tflite(alpha, x.shape.rank or 0)

    @tf.custom_gradient
    def forward(x: tf.Tensor, alpha: tf.Tensor) -> tuple[tf.Tensor, Any]:
        y = tf.nn.relu(x) + (-alpha) * tf.nn.relu(-x)

        def backward(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            positive = x > 0
            grad_x = tf.where(positive, upstream, alpha * upstream)
            # x * g where x <= 0, exactly 0 elsewhere (also at x = +inf).
            grad_alpha = tf.where(positive, tf.zeros_like(x), x * upstream)
            return grad_x, _sum_to_shape(grad_alpha, tf.shape(alpha))

        return y, backward

    return forward(x, alpha)


def _sum_to_shape(value: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
    """Sums `value` over the axes along which a tensor of `shape` broadcast."""
    _, axes = tf.raw_ops.BroadcastGradientArgs(s0=tf.shape(value), s1=shape)
    return tf.reshape(tf.reduce_sum(value, axis=axes), shape)


def _draw_seed(seed: keras.random.SeedGenerator) -> tf.Tensor:
    """The next seed of `seed`, as `keras.random.uniform` would draw it.

    Under `tf.distribute.MirroredStrategy` every replica reads the same
    (mirrored) seed state, so every replica would draw the same noise, as if
    the batch were smaller; there the replica id is folded in.
    """
    drawn = seed.next()
    context = tf.distribute.get_replica_context()
    if context.num_replicas_in_sync > 1:
        replica = context.replica_id_in_sync_group
        drawn = tf.random.experimental.stateless_fold_in(tf.cast(drawn, tf.int64), replica)
    if drawn.dtype != tf.int32:  # Stateless ops under XLA want int32 seeds (as in Keras).
        drawn = tf.cast(tf.math.floormod(tf.cast(drawn, tf.int64), tf.int32.max - 1), tf.int32)
    return drawn


def rrelu_training(
    x: tf.Tensor, lower: float, upper: float, sample_dtype: str, seed: keras.random.SeedGenerator
) -> tf.Tensor:
    """RReLU in training that keeps only its output and a seed for the backward pass.

    The slopes are drawn from the seed in the forward pass and drawn again in
    the backward pass rather than kept: a per-element float tensor less per
    layer. `y > 0` exactly where `x > 0` (slopes are >= 0), so `y` gives the
    mask. Draws are the same as `keras.random.uniform`'s for the same state.
    """
    drawn = _draw_seed(seed)

    def slopes(shape: tf.Tensor) -> tf.Tensor:
        sampled = tf.random.stateless_uniform(
            shape, seed=drawn, minval=lower, maxval=upper, dtype=sample_dtype
        )
        return tf.cast(sampled, x.dtype)

    @tf.custom_gradient
    def forward(x: tf.Tensor) -> tuple[tf.Tensor, Any]:
        y = tf.where(x > 0, x, x * slopes(tf.shape(x)))

        def backward(upstream: tf.Tensor) -> tf.Tensor:
            return tf.where(y > 0, upstream, upstream * slopes(tf.shape(y)))

        return y, backward

    return forward(x)
