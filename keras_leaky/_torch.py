"""PyTorch fast paths for `keras_leaky.ops`.

On the torch backend the portable `where(x > 0, x, slope * x)` runs as
several kernels (a comparison, a product, a select), each a full pass over
memory; PyTorch's own `F.leaky_relu` and `F.prelu` are one kernel each, with
the same numerics (PyTorch is the reference the portable forms are tested
against). The portable forms stay the reference: `tests/fast_path_test.py`
compares both, outputs and gradients, at 0, NaN, +-inf, in every float dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def leaky_relu(x: torch.Tensor, negative_slope: float) -> torch.Tensor | None:
    """`F.leaky_relu`, or None for a slope beyond `x`'s dtype's range.

    Such a slope is inf in the reference (so `0 * slope` is NaN), while
    `F.leaky_relu` raises for it in float32 and multiplies in float32 for
    float16: the portable form keeps the reference's answer.
    """
    if negative_slope > torch.finfo(x.dtype).max:
        return None
    return F.leaky_relu(x, negative_slope)


def prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor | None:
    """`F.prelu` where `alpha` is one of its shapes, else None.

    `F.prelu` takes a scalar or one alpha per channel on axis 1; keras_leaky's
    channel-wise alpha is on the last axis, reached with a (free) `movedim`
    view. Other alpha shapes (per element, ...) return None: use the portable
    form.
    """
    if alpha.numel() == 1 and alpha.ndim <= x.ndim:
        return F.prelu(x, alpha.reshape(1))
    if x.ndim < 2 or alpha.ndim == 0:
        return None
    channels = alpha.shape[0]
    if alpha.ndim == 1 and x.shape[-1] == channels:  # channels_last: (C,)
        return F.prelu(x.movedim(-1, 1), alpha).movedim(1, -1)
    if x.shape[1] == channels and alpha.shape == (channels,) + (1,) * (x.ndim - 2):
        return F.prelu(x, alpha.reshape(channels))  # channels_first: (C, 1, ..., 1)
    return None
