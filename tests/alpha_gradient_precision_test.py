"""PReLU's alpha gradient in float16 and bfloat16 is as accurate as PyTorch's.

One alpha per channel sums `x * g` over every other axis: 4096 terms per
channel here. Summed in a half dtype that sum loses most of its significant
digits (JAX's own gradient did: 0.52 relative error in bfloat16 where
PyTorch's `F.prelu`, which accumulates in float32, is at 2.4e-3, about the
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
from tests.backend_utils import grad, value_and_grad

SHAPE = (16, 16, 16, 64)  # 4096 elements in each of 64 channels (the last axis).
NUMPY_DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def root_mean_square(errors):
    return np.sqrt(np.mean(np.square(errors)))


UPSTREAMS = {
    # No channel's sum cancels: the error is relative to the sum, and its
    # largest value over the channels is the measure issue 11 gives.
    "positive": (lambda rng: rng.uniform(0.5, 1.5, SHAPE), np.max),
    # Signs mixed, as real gradients have them: sums cancel, by up to 600x
    # here, and the largest error is that of the worst-conditioned channel,
    # which chance makes small or large for either side (ratios 0.6x-7x
    # over seeds). Over 64 channels the root mean square is steady (+-25%).
    "signed": (lambda rng: rng.standard_normal(SHAPE), root_mean_square),
}


def rounded_inputs(dtype, upstream_kind):
    """x, alpha (one per channel) and the upstream gradient, rounded to
    `dtype` and held in float32 (exactly)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE)
    alpha = np.linspace(0.05, 0.95, SHAPE[-1])  # Where PReLU may keep its output.
    upstream = UPSTREAMS[upstream_kind][0](rng)
    return [a.astype(NUMPY_DTYPES[dtype]).astype(np.float32) for a in (x, alpha, upstream)]


def error(alpha_gradient, x, upstream, upstream_kind):
    """The error against the exact sum of `x * upstream` over `x <= 0`,
    taken in float64, relative to the sum of the terms' magnitudes (the sum's
    own magnitude where they have one sign), aggregated over the channels."""
    terms = np.where(x > 0, 0.0, x.astype(np.float64) * upstream).reshape(-1, SHAPE[-1])
    exact, magnitude = terms.sum(axis=0), np.abs(terms).sum(axis=0)
    actual = np.asarray(alpha_gradient, np.float64).reshape(exact.shape)
    return UPSTREAMS[upstream_kind][1](np.abs(actual - exact) / magnitude)


def torch_alpha_gradient(dtype, x, alpha, upstream):
    """The alpha gradient of PyTorch's own `F.prelu` in `dtype`."""
    torch_dtype = getattr(torch, dtype)
    x_t = torch.from_numpy(x).to(torch_dtype).movedim(-1, 1)  # Channels at axis 1.
    alpha_t = torch.from_numpy(alpha).to(torch_dtype).requires_grad_(True)
    y = torch.nn.functional.prelu(x_t, alpha_t)
    upstream_t = torch.from_numpy(upstream).to(torch_dtype).movedim(-1, 1)
    (alpha_gradient,) = torch.autograd.grad(y, alpha_t, upstream_t)
    return alpha_gradient.float().numpy()


def assert_as_accurate_as_torch(alpha_gradient, dtype, upstream_kind, x, alpha, upstream):
    ours = error(alpha_gradient, x, upstream, upstream_kind)
    reference = error(torch_alpha_gradient(dtype, x, alpha, upstream), x, upstream, upstream_kind)
    assert ours <= 2 * reference, f"error {ours:.2g}, F.prelu's {reference:.2g}"


@pytest.mark.parametrize("upstream_kind", list(UPSTREAMS))
@pytest.mark.parametrize("dtype", list(NUMPY_DTYPES))
def test_prelu_alpha_gradient_is_as_accurate_as_torch(dtype, upstream_kind):
    x, alpha, upstream = rounded_inputs(dtype, upstream_kind)
    _, (_, alpha_gradient) = value_and_grad(
        leaky_ops.prelu, x, alpha, upstream=upstream, dtype=dtype
    )
    assert_as_accurate_as_torch(alpha_gradient, dtype, upstream_kind, x, alpha, upstream)


@pytest.mark.parametrize("upstream_kind", list(UPSTREAMS))
@pytest.mark.parametrize("dtype", list(NUMPY_DTYPES))
def test_mixed_precision_layer_alpha_gradient_is_as_accurate_as_torch(dtype, upstream_kind):
    """`keras_leaky.PReLU` under `mixed_float16`/`mixed_bfloat16`: alpha is a
    float32 variable, cast to the half compute dtype in the call."""
    x, alpha, upstream = rounded_inputs(dtype, upstream_kind)
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
    assert_as_accurate_as_torch(alpha_gradient, dtype, upstream_kind, x, alpha, upstream)
