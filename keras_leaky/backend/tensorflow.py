"""The TensorFlow backend of `keras_leaky.ops`, and why it is not the portable forms.

The portable `keras.ops` forms (`keras_leaky.backend.portable`) are the
reference; on the TensorFlow backend the ops run these instead, which give
the same outputs and gradients (the tests compare them, in every float
dtype) and differ in three ways that users see:

- **Speed.** Each `keras.ops` call is one pass over memory, run eagerly or
  in a graph (TensorFlow fuses nothing on CPU unless asked to). PReLU and
  RReLU run as one XLA kernel per direction instead (`_compiled`), at the
  cost of a plain ReLU; LeakyReLU is TensorFlow's own one-pass kernel.
- **Memory.** `tf.custom_gradient` keeps only what the backward pass needs:
  the *output*, which the next layer keeps anyway (`y > 0` exactly where
  `x > 0` for slopes >= 0), not the input as TensorFlow's own `LeakyRelu`
  gradient does, nor a tensor of random slopes. PReLU keeps its input only
  while some alpha is outside (0, 1].
- **Deployment.** A TFLite conversion of an exported model maps them to the
  native `LEAKY_RELU` and `PRELU` kernels. The converter recognises
  `tf.nn.leaky_relu` and Keras's PReLU pattern `relu(x) + (-alpha) * relu(-x)`
  with `alpha` of rank `rank(x) - 1`; a `where(x > 0, x, alpha * x)` stays
  three generic ops. Where no gradient is taken (an exported or served
  graph) PReLU is that pattern as plain ops, which tf2onnx can convert too.

The derivatives are PyTorch's (the slope at `x = 0`, where the `relu`
pattern's own gradient would be 0). Under `tf.distribute`, RReLU's noise
differs per replica (`_per_replica`).

Where these do not apply (LeakyReLU in float64, an `alpha` whose shape is
not static) the portable forms run.

Private TensorFlow APIs relied on (checked with TensorFlow 2.18 to 2.21; the
tests fail if one moves):
- `tensorflow.python.eager.record.could_possibly_record`: whether a tape records.
- `tf.raw_ops.LeakyReluGrad`: public, but an op rather than an API.
- `tf.function`'s `_omit_frequent_tracing_warning` flag (`_compiled`).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_leaky._validation import MAX_SEED
from keras_leaky.backend import noise, portable


def leaky_relu(x: tf.Tensor, negative_slope: float) -> tf.Tensor:
    """`tf.nn.leaky_relu` with a gradient computed from the output.

    The portable form in float64: `LeakyRelu` takes the slope as a float32
    attribute, which would round it.
    """
    if x.dtype == tf.float64:
        return portable.leaky_relu(x, negative_slope)

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


def _compiled(function: Any) -> Any:
    """`function` as one XLA kernel, compiled once per input shape and dtype.

    Called eagerly or from a graph, the element-wise math runs as one fused
    loop instead of one pass over memory per op; inside a function that is
    itself XLA-compiled it is simply inlined, and TFLite's converter inlines
    it too (so the patterns it matches survive). Traced once per shape: with
    `reduce_retracing=True`, TensorFlow 2.21 takes a second derivative of a
    shape-relaxed trace with an earlier call's shapes and fails (gradient
    penalties at a last, smaller batch).
    Tracing per shape is expected here (eager calls on images of any size),
    so TensorFlow's "frequent retracing" warning, which would tell the user
    to pass `reduce_retracing=True`, is turned off with its private flag.
    """
    compiled = tf.function(function, jit_compile=True, autograph=False)
    compiled._omit_frequent_tracing_warning = True
    return compiled


@_compiled
def _prelu_forward(x: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu(x) + (-alpha) * tf.nn.relu(-x)


@_compiled
def _prelu_backward(
    upstream: tf.Tensor, saved: tf.Tensor, alpha: tf.Tensor, saved_is_output: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """The input gradient, and the alpha gradient per element (float32 for halves).

    The alpha gradient is computed in float32 for halves, from `saved` (x
    itself for halves) and `upstream` as they are: x * g is then exact, and
    the only rounding left is the float32 sum's and the final one, as in
    PyTorch's `F.prelu`.
    """
    accumulate = tf.float64 if saved.dtype == tf.float64 else tf.float32
    positive = saved > 0
    grad_x = tf.where(positive, upstream, alpha * upstream)
    # With 0 < alpha <= 1, y > 0 exactly where x > 0, and x = y / alpha where
    # x <= 0 (y cannot overflow); otherwise `saved` is x itself, divided by 1.
    # Not `where(saved_is_output, saved / alpha, saved)`: at alpha = 0 the
    # branch not taken is inf, and its second derivative 0 * inf = NaN.
    divisor = tf.where(saved_is_output, alpha, tf.ones_like(alpha))
    negative_input = tf.cast(saved, accumulate) / tf.cast(divisor, accumulate)
    # x * g where x <= 0, exactly 0 elsewhere (also at x = +inf).
    product = negative_input * tf.cast(upstream, accumulate)
    return grad_x, tf.where(positive, tf.zeros_like(product), product)


def _sum_over(per_element: tf.Tensor, axes: tuple[int, ...], alpha: tf.Tensor) -> tf.Tensor:
    """`per_element` summed over `axes` into `alpha`'s shape and dtype.

    Over leading axes (one alpha per channel, per position, or a scalar) the
    sum is a matrix-vector product: TensorFlow's multi-threaded GEMV reads the
    tensor once at memory speed, where XLA:CPU's fused column reduction ran
    at a third of that and set the cost of PReLU's backward pass.
    """
    if axes == tuple(range(len(axes))):
        rows = tf.reshape(per_element, [-1, alpha.shape.num_elements()])
        ones = tf.ones(tf.shape(rows)[:1], per_element.dtype)
        total = tf.linalg.matvec(rows, ones, transpose_a=True)
    else:
        total = tf.reduce_sum(per_element, axis=list(axes))
    return tf.cast(tf.reshape(total, tf.shape(alpha)), alpha.dtype)


def _gradient_may_be_taken() -> bool:
    """Whether a `tf.GradientTape` is recording (TensorFlow has no public query)."""
    try:
        from tensorflow.python.eager import record
    except ImportError:  # Moved: assume a tape, which only costs the plain export form.
        return True
    return record.could_possibly_record()


def _broadcasts_into(alpha: tf.Tensor, x: tf.Tensor) -> bool:
    """Whether `alpha` has a static shape that broadcasts into `x`'s, axis by axis."""
    if x.shape.rank is None or not alpha.shape.is_fully_defined():
        return False
    if alpha.shape.rank > x.shape.rank:
        return False
    trailing = x.shape[x.shape.rank - alpha.shape.rank :]
    return all(a == 1 or a == b for a, b in zip(alpha.shape, trailing, strict=True))


def prelu(x: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """PReLU as one XLA kernel each way, in the pattern TFLite maps to `PRELU`.

    `alpha` has `x`'s dtype. The portable form where `alpha` does not
    broadcast into `x` with a static shape. While every alpha
    is in (0, 1] the backward pass keeps the output, which the next layer
    keeps anyway, instead of the input.
    """
    alpha = _alpha_for_tflite(alpha, x.shape.rank or 0)
    if not _broadcasts_into(alpha, x):
        return portable.prelu(x, alpha)
    # The axes `alpha` broadcasts along (it is right-aligned with x).
    offset = x.shape.rank - alpha.shape.rank
    axes = tuple(range(offset)) + tuple(offset + i for i, n in enumerate(alpha.shape) if n == 1)

    taped = _gradient_may_be_taken()
    if tf.executing_eagerly() and not taped:
        return _prelu_forward(x, alpha)  # Nothing can differentiate this.
    # A graph no gradient is taken of is one being exported or served: there
    # the pattern stays plain ops, which tf2onnx cannot see into a kernel for.
    kernel = _prelu_forward if taped else _prelu_forward.python_function

    @tf.custom_gradient
    def forward(x: tf.Tensor, alpha: tf.Tensor) -> tuple[tf.Tensor, Any]:
        y = kernel(x, alpha)
        if x.dtype in (tf.float16, tf.bfloat16):
            # y / alpha rounded to a half is not x: where signed gradients
            # cancel, that error dominated the alpha gradient's sum.
            saved_is_output = tf.constant(False)
        else:
            saved_is_output = tf.reduce_all((alpha > 0) & (alpha <= 1))
        # A branch, not a select: the tensor not chosen is not kept.
        saved = tf.cond(saved_is_output, lambda: y, lambda: x)

        def backward(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            grad_x, per_element = _prelu_backward(upstream, saved, alpha, saved_is_output)
            return grad_x, _sum_over(per_element, axes, alpha)

        return y, backward

    return forward(x, alpha)


def _per_replica(key: tf.Tensor) -> tf.Tensor:
    """`key`, made distinct per replica under `tf.distribute`.

    Under `MirroredStrategy` every replica reads the same (mirrored) seed
    state, so every replica would draw the same noise, as if the batch were
    smaller; there the replica id is folded in.
    """
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        replica = context.replica_id_in_sync_group
        key = tf.random.experimental.stateless_fold_in(tf.cast(key, tf.int64), replica)
        key = tf.cast(tf.math.floormod(key, MAX_SEED), tf.int32)
    return key


@_compiled
def _rrelu_forward(x: tf.Tensor, key: tf.Tensor, lower: float, upper: float) -> tf.Tensor:
    return portable.rrelu_training(x, key, lower, upper)


@_compiled
def _rrelu_backward(
    upstream: tf.Tensor, y: tf.Tensor, key: tf.Tensor, lower: float, upper: float
) -> tf.Tensor:
    # Slopes are >= 0, so y > 0 exactly where x > 0.
    slopes = noise.uniform_like(y, key, lower, upper)
    return tf.where(y > 0, upstream, upstream * slopes)


def rrelu_training(x: tf.Tensor, key: tf.Tensor, lower: float, upper: float) -> tf.Tensor:
    """RReLU in training as one XLA kernel each way, keeping only its output.

    The slopes (`noise.uniform_like`) are computed inside the kernel from
    `key`, in the forward pass and again in the backward pass: no tensor of
    slopes or random bits is ever in memory, and the backward pass needs only
    the output, which the next layer keeps anyway.
    """
    key = _per_replica(key)

    # Flat, so that the kernel sees rank 1 whatever the shape (the index of an
    # element, and so its slope, is that of the flattened tensor either way).
    @tf.custom_gradient
    def forward(x: tf.Tensor) -> tuple[tf.Tensor, Any]:
        y = _rrelu_forward(tf.reshape(x, [-1]), key, lower, upper)

        def backward(upstream: tf.Tensor) -> tf.Tensor:
            grad = _rrelu_backward(tf.reshape(upstream, [-1]), y, key, lower, upper)
            return tf.reshape(grad, tf.shape(upstream))

        return tf.reshape(y, tf.shape(x)), backward

    return forward(x)
