"""Gradients of gradients: every activation, every fast path, on every backend.

Gradient penalties (WGAN-GP) and meta-learning differentiate a gradient. For
an activation `f` of `args` (x, and alpha for PReLU) and an upstream gradient
`u`, the first derivative is `G(args, u) = d/dargs sum(f(args) * u)`; its
vector-Jacobian product, the gradient of `sum(G * v)` w.r.t. args and u, is
taken with the backend's own autodiff (nested `GradientTape` on TensorFlow,
a gradient of `jax.grad` on JAX, `create_graph=True` on torch) and compared
with central finite differences of `G` in float64, as
`torch.autograd.gradgradcheck` does. The activations are piecewise linear:
`d(grad_x)/du` is the slope, `d2/dx2` is 0 and, for PReLU,
`d(grad_x)/dalpha = d(grad_alpha)/dx = u` where `x <= 0`. Inputs are kept
away from the kink at 0, where finite differences would straddle it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import pytest
from keras import ops

import keras_leaky  # noqa: F401  (the activation names)
from keras_leaky import backend
from keras_leaky import ops as leaky_ops
from keras_leaky.backend import portable
from tests.backend_utils import TOLERANCE, grad, to_numpy

BACKEND = keras.backend.backend()


pytestmark = pytest.mark.usefixtures("float64_on_jax")  # float64 on every backend


def first_derivatives(fn: Callable[..., Any], xs: Sequence[Any], upstream: Any) -> Sequence[Any]:
    """`d sum(fn(*xs) * upstream) / d xs`, by the backend's autodiff, itself differentiable.

    `xs` are backend tensors (the arguments `value_and_grad` passes); the
    result stays on the tape (TensorFlow), in the trace (JAX) or in the graph
    (torch's `create_graph=True`), so that it can be differentiated again.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(xs)
            loss = tf.reduce_sum(fn(*xs) * upstream)
        return tape.gradient(loss, xs)
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(*inputs):
            return jnp.sum(fn(*inputs) * upstream)

        return jax.grad(loss, argnums=tuple(range(len(xs))))(*xs)
    import torch

    return torch.autograd.grad((fn(*xs) * upstream).sum(), xs, create_graph=True)


def second_derivatives(
    fn: Callable[..., Any], args: list[np.ndarray], upstream: np.ndarray, v: list[np.ndarray]
) -> list[np.ndarray]:
    """Gradients of `sum(G * v)` w.r.t. each of `args`, then `upstream`.

    `G` is `grad(fn, *args, upstream=upstream)` (see `tests.backend_utils`),
    here built by `first_derivatives` so that `grad` can differentiate it.
    """

    def h(*xs):
        firsts = first_derivatives(fn, xs[:-1], xs[-1])
        return sum(ops.sum(ops.multiply(g, w)) for g, w in zip(firsts, v, strict=True))

    return grad(h, *args, upstream)


def finite_differences(
    fn: Callable[..., Any],
    args: list[np.ndarray],
    upstream: np.ndarray,
    v: list[np.ndarray],
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """`second_derivatives` by central differences of the first derivative."""

    def h(inputs):
        firsts = grad(fn, *inputs[:-1], upstream=inputs[-1])
        return sum(float(np.sum(g * w)) for g, w in zip(firsts, v, strict=True))

    inputs = [np.array(a, np.float64) for a in [*args, upstream]]
    result = []
    for array in inputs:
        derivative = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = h(inputs)
            array[index] = saved - eps
            minus = h(inputs)
            array[index] = saved
            derivative[index] = (plus - minus) / (2 * eps)
        result.append(derivative)
    return result


def away_from_zero(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Standard normal values pushed at least 0.1 away from the kink at 0."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x + 0.1 * np.sign(x)


def leaky_relu(x):
    return leaky_ops.leaky_relu(x, 0.2)


def rrelu(x):
    # An int seed draws the same key at every call: the same slopes each time.
    return leaky_ops.rrelu(x, 0.1, 0.4, training=True, seed=3)


# (function, alpha or None). Alphas in (0, 1] take torch's output-saving
# path; others, and a zero alpha, F.prelu's own backward.
CASES = {
    "leaky_relu": (leaky_relu, None),
    "rrelu": (rrelu, None),
    "prelu_channel": (leaky_ops.prelu, np.array([0.1, 0.5, 0.9, 1.0])),
    "prelu_channel_signed": (leaky_ops.prelu, np.array([-0.3, 0.0, 1.5, 0.25])),
    "prelu_scalar": (leaky_ops.prelu, np.array(0.3)),
    "prelu_scalar_zero": (leaky_ops.prelu, np.array(0.0)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_second_derivatives_match_finite_differences(case):
    fn, alpha = CASES[case]
    args = [away_from_zero((3, 4), seed=1)] + ([] if alpha is None else [alpha])
    upstream = np.random.default_rng(2).standard_normal((3, 4))
    v = [np.random.default_rng(3 + i).standard_normal(np.shape(a)) for i, a in enumerate(args)]

    analytic = second_derivatives(fn, args, upstream, v)
    numeric = finite_differences(fn, args, upstream, v)
    names = ["x", "alpha"][: len(args)] + ["upstream"]
    for name, a, n in zip(names, analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_second_derivatives_as_the_batch_size_changes(case):
    """A last, smaller batch, as `fit` gives: one compiled kernel, several shapes.

    On TensorFlow 2.21 a `tf.function(jit_compile=True, reduce_retracing=True)`
    differentiated twice after a change of shape used an earlier call's shapes
    ("Input to reshape is a tensor with 4 values, but the requested shape has 3").
    """
    fn, alpha = CASES[case]
    for batch in (5, 2, 3):
        args = [away_from_zero((batch, 4), seed=batch)] + ([] if alpha is None else [alpha])
        upstream = np.random.default_rng(batch).standard_normal((batch, 4))
        v = [np.ones(np.shape(a)) for a in args]
        analytic = second_derivatives(fn, args, upstream, v)
        numeric = finite_differences(fn, args, upstream, v)
        for a, n in zip(analytic, numeric, strict=True):
            np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-7, err_msg=f"batch {batch}")


def test_prelu_second_derivative_in_alpha_at_alpha_zero():
    """`alpha_initializer="zeros"`, as Keras's own PReLU test uses.

    With x = [-1, 2] and u = v = 1: `G = (grad_x, grad_alpha) =
    ([alpha, 1], -1)`, so `d sum(G * v) / dalpha = 1`, as torch's own
    `F.prelu` gives; dividing by alpha anywhere, even in an unselected
    branch, makes it NaN.
    """
    x, alpha = np.array([[-1.0, 2.0]]), np.array(0.0)
    ones = [np.ones_like(x), np.ones_like(alpha)]
    _, d_alpha, _ = second_derivatives(leaky_ops.prelu, [x, alpha], np.ones_like(x), ones)
    assert float(d_alpha) == 1.0


def penalty_gradients(critic: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """Gradients w.r.t. `critic.trainable_weights` of WGAN-GP's gradient penalty.

    `mean((|d critic(x) / dx| - 1) ** 2)` (Gulrajani et al., 2017), with
    `critic` in training mode, as a WGAN-GP `train_step` computes it.
    """

    def penalty(call, x):
        (g,) = first_derivatives(call, [x], 1.0)
        return ops.mean((ops.sqrt(ops.sum(g * g, axis=1)) - 1.0) ** 2)

    def call(x):
        return critic(x, training=True)

    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = penalty(call, tf.constant(x))
        weights = [w.value for w in critic.trainable_weights]
        grads = tape.gradient(loss, weights, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    elif BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(trainable, x):
            non_trainable = [v.value for v in critic.non_trainable_variables]
            return penalty(
                lambda x: critic.stateless_call(trainable, non_trainable, x, training=True)[0], x
            )

        grads = jax.grad(loss)([v.value for v in critic.trainable_variables], jnp.asarray(x))
    else:
        import torch

        loss = penalty(call, torch.tensor(x, requires_grad=True))
        weights = [w.value for w in critic.trainable_weights]
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
        pairs = zip(weights, grads, strict=True)
        grads = [torch.zeros_like(w) if d is None else d for w, d in pairs]
    return [to_numpy(g) for g in grads]


@pytest.mark.parametrize("activation", ["rrelu", "prelu"])
def test_wgan_gp_penalty_trains_the_critic(activation, monkeypatch):
    """The penalty's gradient, fast paths against the portable forms.

    For a piecewise-linear critic `d critic / dx` depends on the kernels and
    the slopes (alpha) but not on the biases: their gradient is exactly 0.
    """
    keras.utils.set_random_seed(0)
    critic = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation=activation),
            keras.layers.Dense(8, activation=activation),
            keras.layers.Dense(1),
        ]
    )
    x = np.random.default_rng(1).standard_normal((16, 4)).astype("float32")
    state = [to_numpy(v) for v in critic.non_trainable_variables]  # RReLU's seeds.
    fast = penalty_gradients(critic, x)
    for variable, value in zip(critic.non_trainable_variables, state, strict=True):
        variable.assign(value)
    for name in ("leaky_relu", "prelu", "rrelu_training"):  # What ops runs: now the portable forms.
        monkeypatch.setattr(backend, name, getattr(portable, name))
    reference = penalty_gradients(critic, x)

    tol = TOLERANCE["float32"]
    for weight, f, p in zip(critic.trainable_weights, fast, reference, strict=True):
        assert np.isfinite(f).all(), weight.path
        np.testing.assert_allclose(f, p, tol, tol, err_msg=weight.path)
        if weight.path.endswith("bias"):
            np.testing.assert_array_equal(f, 0.0, err_msg=weight.path)
        else:
            assert np.abs(f).max() > 1e-3, weight.path
