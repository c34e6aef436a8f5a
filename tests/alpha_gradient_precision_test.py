"""PReLU's alpha gradient in float16 and bfloat16 is as accurate as PyTorch's.

One alpha per channel sums `x * g` over every other axis: 4096 terms per
channel here. Summed in a half dtype that sum loses most of its significant
digits (JAX's own gradient did: 6.2e-3 relative error in bfloat16 where
PyTorch's `F.prelu`, which accumulates in float32, is at 2.2e-3, about the
final rounding to bfloat16). The error is measured against the exact sum,
taken in float64 in NumPy from the same rounded inputs, and must be within
2x of `F.prelu`'s on the same inputs in the same dtype, on every backend.
"""

import keras
import ml_dtypes
import numpy as np
import pytest
import torch

import keras_leaky
from keras_leaky import ops as leaky_ops
from tests.backend_utils import grad

SHAPE = (16, 16, 16, 8)  # 4096 elements per channel (the last axis).
NUMPY_DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def rounded_inputs(dtype):
    """x, alpha (one per channel) and the upstream gradient, rounded to
    `dtype` and held in float32 (exactly). The upstream gradient is positive,
    so that no channel's sum cancels to near 0 and the relative error of
    every channel means something."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE)
    alpha = np.linspace(0.05, 0.95, SHAPE[-1])
    upstream = rng.uniform(0.5, 1.5, SHAPE)
    return [a.astype(NUMPY_DTYPES[dtype]).astype(np.float32) for a in (x, alpha, upstream)]


def max_relative_error(alpha_gradient, x, upstream):
    """Largest relative error over the channels against the exact sum of
    `x * upstream` over `x <= 0`, taken in float64."""
    x, upstream = x.astype(np.float64), upstream.astype(np.float64)
    exact = np.where(x > 0, 0.0, x * upstream).reshape(-1, SHAPE[-1]).sum(axis=0)
    actual = np.asarray(alpha_gradient, np.float64).reshape(exact.shape)
    return float(np.max(np.abs(actual - exact) / np.abs(exact)))


def torch_error(dtype, x, alpha, upstream):
    """The error of PyTorch's own `F.prelu` in `dtype` on the same inputs."""
    torch_dtype = getattr(torch, dtype)
    x_t = torch.from_numpy(x).to(torch_dtype).movedim(-1, 1)  # Channels at axis 1.
    alpha_t = torch.from_numpy(alpha).to(torch_dtype).requires_grad_(True)
    y = torch.nn.functional.prelu(x_t, alpha_t)
    upstream_t = torch.from_numpy(upstream).to(torch_dtype).movedim(-1, 1)
    (alpha_gradient,) = torch.autograd.grad(y, alpha_t, upstream_t)
    return max_relative_error(alpha_gradient.float().numpy(), x, upstream)


def assert_as_accurate_as_torch(alpha_gradient, dtype, x, alpha, upstream):
    error = max_relative_error(alpha_gradient, x, upstream)
    reference = torch_error(dtype, x, alpha, upstream)
    assert error <= 2 * reference, f"error {error:.2g}, PyTorch's {reference:.2g}"


@pytest.mark.parametrize("dtype", list(NUMPY_DTYPES))
def test_prelu_alpha_gradient_is_as_accurate_as_torch(dtype):
    x, alpha, upstream = rounded_inputs(dtype)

    def prelu(x, alpha):
        return leaky_ops.prelu(keras.ops.cast(x, dtype), keras.ops.cast(alpha, dtype))

    # The gradient w.r.t. the float32 alpha is the one in `dtype`, cast exactly.
    _, alpha_gradient = grad(prelu, x, alpha, upstream=upstream)
    assert_as_accurate_as_torch(alpha_gradient, dtype, x, alpha, upstream)


@pytest.mark.parametrize("dtype", list(NUMPY_DTYPES))
def test_mixed_precision_layer_alpha_gradient_is_as_accurate_as_torch(dtype):
    """`keras_leaky.PReLU` under `mixed_float16`/`mixed_bfloat16`: alpha is a
    float32 variable, cast to the half compute dtype in the call."""
    x, alpha, upstream = rounded_inputs(dtype)
    layer = keras_leaky.PReLU(dtype=f"mixed_{dtype}")
    layer.build(SHAPE)
    assert layer.alpha.dtype == "float32" and tuple(layer.alpha.shape) == alpha.shape

    def prelu(x, alpha):
        # As `model.fit` calls it on JAX: the layer's own call, alpha's value given.
        with keras.StatelessScope(state_mapping=[(layer.alpha, alpha)]):
            y = layer(x)
        assert keras.backend.standardize_dtype(y.dtype) == dtype
        return y

    _, alpha_gradient = grad(prelu, x, alpha, upstream=upstream)
    assert_as_accurate_as_torch(alpha_gradient, dtype, x, alpha, upstream)
