"""The PyTorch backend of `keras_leaky.ops`.

On the torch backend the portable `where(x > 0, x, slope * x)` runs as
several kernels (a comparison, a product, a select), each a full pass over
memory; PyTorch's own `F.leaky_relu` and `F.prelu` are one kernel each, with
the same numerics (PyTorch is the reference the portable forms are tested
against). RReLU's hashed slopes (`noise.uniform_like`) are about thirty
integer operations per element: as whole-tensor eager ops each is a pass over
memory, so `rrelu_training` runs them in place on cache-sized chunks, and
its backward pass computes them again instead of keeping them. All three
differentiate from their output where that is exact, so that training keeps
no tensor the next layer does not keep anyway. The portable forms stay the
reference the tests compare them with, outputs and gradients, at 0, NaN,
+-inf, in every float dtype. Every backward pass is itself differentiable
(`create_graph=True`, as gradient penalties need), its second derivatives
checked against finite differences. Where these do not apply (shapes of
`alpha` that `F.prelu` does not take, a slope beyond the dtype's range,
RReLU under `torch.compile`) the portable forms run.

Private PyTorch APIs relied on (checked with PyTorch 2.13; the tests fail if
one moves):
- `torch.ops.aten._prelu_kernel_backward`: `F.prelu`'s backward kernel.
- `torch.ops.aten.leaky_relu_backward`: `F.leaky_relu`'s backward kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from keras_leaky.backend import noise, portable

# Elements hashed at a time on the CPU: a chunk's int32 and float32 buffers
# (1 MiB each) stay in cache through the thirty operations. Other devices
# take the tensor in one chunk (one kernel launch per operation).
CPU_CHUNK = 1 << 18


def leaky_relu(x: torch.Tensor, negative_slope: float) -> torch.Tensor:
    """`F.leaky_relu` with a gradient computed from its output.

    PyTorch's own gradient keeps the input; the output says the same
    (`y > 0` exactly where `x > 0` for a slope >= 0) and is what the next
    layer keeps anyway. The portable form for a slope beyond `x`'s dtype's
    range: that slope is inf there (so `0 * slope` is NaN), while
    `F.leaky_relu` raises for it in float32 and multiplies in float32 for
    float16.
    """
    if negative_slope > torch.finfo(x.dtype).max:
        return portable.leaky_relu(x, negative_slope)
    return _LeakyReLU.apply(x, negative_slope)


class _LeakyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, negative_slope: float) -> torch.Tensor:
        y = F.leaky_relu(x, negative_slope)
        ctx.save_for_backward(y)
        ctx.negative_slope = negative_slope
        return y

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[torch.Tensor, None]:
        (y,) = ctx.saved_tensors
        # PyTorch's own kernel for the gradient of an in-place leaky_relu_.
        grad = torch.ops.aten.leaky_relu_backward(upstream, y, ctx.negative_slope, True)
        return grad, None


def prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """`F.prelu` where `alpha` is one of its shapes, else the portable form.

    `F.prelu` takes a scalar or one alpha per channel on axis 1; keras_leaky's
    channel-wise alpha is on the last axis, reached with a (free) `permute`
    view. Its axes are spelled out, not `movedim(-1, 1)`: TorchScript's ONNX
    exporter writes that as a `Transpose` with `perm` `[0, -1, 1, 2]`, which
    onnxruntime refuses to load. Other alpha shapes (per element, ...) take
    the portable form. On the CPU, in float32 and float64, while
    every alpha is in (0, 1], the gradient is computed from the output
    instead of the input (`_PReLU`).
    """
    if alpha.numel() == 1 and alpha.ndim <= x.ndim:
        return _prelu(x, alpha.reshape(1))
    if x.ndim < 2 or alpha.ndim == 0:
        return portable.prelu(x, alpha)
    channels = alpha.shape[0]
    if alpha.ndim == 1 and x.shape[-1] == channels:  # channels_last: (C,)
        last = x.ndim - 1
        y = _prelu(x.permute(0, last, *range(1, last)), alpha)
        return y.permute(0, *range(2, x.ndim), 1)
    if x.shape[1] == channels and alpha.shape == (channels,) + (1,) * (x.ndim - 2):
        return _prelu(x, alpha.reshape(channels))  # channels_first: (C, 1, ..., 1)
    return portable.prelu(x, alpha)


def _prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """`F.prelu(x, weight)`, keeping the output for the gradient where that is exact.

    Which to keep depends on alpha's values: read on the host for CPU tensors
    only (on an accelerator that read would stall the queue of kernels), and
    not while tracing or compiling (for export), where it would be baked in.
    """
    if (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
        and bool(((weight > 0) & (weight <= 1)).all())
    ):
        return _PReLU.apply(x, weight)
    return F.prelu(x, weight)


class _PReLU(torch.autograd.Function):
    """`F.prelu` with every alpha in (0, 1], differentiated from its output.

    There `y > 0` exactly where `x > 0`, and `y = alpha * x` elsewhere, so
    the alpha gradient `sum(x * g)` over a channel is `sum(y * g) / alpha`.
    Float32 and float64 only: in float16 and bfloat16, `y / alpha` rounded to
    the half dtype is not `x`, and where signed gradients cancel that error
    dominated the sum, so halves keep `x` (`F.prelu` itself).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        y = F.prelu(x, weight)
        ctx.save_for_backward(y, weight)
        return y

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, weight = ctx.saved_tensors
        per_channel = weight.numel() > 1
        # `F.prelu`'s own backward kernel, given y for x: y * g where y <= 0.
        w = weight.reshape((-1,) + (1,) * (y.ndim - 2)) if per_channel else weight.reshape(())
        grad_x, grad_w = torch.ops.aten._prelu_kernel_backward(upstream, y, w)
        axes = [axis for axis in range(y.ndim) if not (per_channel and axis == 1)]
        return grad_x, grad_w.sum(axes).reshape(weight.shape) / weight


def rrelu_training(x: torch.Tensor, key: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """RReLU in training with the slopes `key` gives, keeping only its output.

    The portable form under `torch.compile`, which fuses it into one kernel.
    """
    if torch.compiler.is_compiling():
        return portable.rrelu_training(x, key, lower, upper)
    return _RReLU.apply(x, key, lower, upper)


class _RReLU(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, key: torch.Tensor, lower: float, upper: float
    ) -> torch.Tensor:
        flat = x.reshape(-1)
        y = torch.empty(x.shape, dtype=x.dtype, device=x.device)
        out = y.view(-1)
        for part, slopes in _slope_chunks(flat, key, lower, upper):
            torch.where(flat[part] > 0, flat[part], slopes.mul_(flat[part]), out=out[part])
        ctx.save_for_backward(y, key)
        ctx.bounds = lower, upper
        return y

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        y, key = ctx.saved_tensors
        flat, upstream = y.view(-1), upstream.reshape(-1)
        # Slopes are >= 0, so y > 0 exactly where x > 0 (NaN takes the slope).
        chunks = _slope_chunks(flat, key, *ctx.bounds)
        if torch.is_grad_enabled():
            # `create_graph=True` (a gradient penalty): the gradient is itself
            # differentiated, so it is built from differentiable ops. Its
            # derivative w.r.t. `upstream` is the slope; w.r.t. y (through the
            # comparison) it is 0, as RReLU is linear on each side of 0.
            slopes = torch.empty_like(flat)
            for part, chunk in chunks:
                slopes[part] = chunk
            grad = torch.where(flat > 0, upstream, slopes * upstream)
        else:
            grad = torch.empty_like(upstream)
            for part, slopes in chunks:
                g = upstream[part]
                torch.where(flat[part] > 0, g, slopes.mul_(g), out=grad[part])
        return grad.view(y.shape), None, None, None


def _slope_chunks(
    flat: torch.Tensor, key: torch.Tensor, lower: float, upper: float
) -> Iterator[tuple[slice, torch.Tensor]]:
    """`(part, slopes)` over `flat`: `noise.uniform_like`'s slopes for `flat[part]`.

    The same integer and float operations as `uniform_like`, in place in
    buffers of one chunk; `slopes` is a buffer of `flat`'s dtype that the
    caller may overwrite.
    """
    n = flat.numel()
    size = max(1, min(n, CPU_CHUNK if flat.device.type == "cpu" else n))
    device = flat.device
    compute = torch.float64 if flat.dtype == torch.float64 else torch.float32
    weyl = torch.arange(size, dtype=torch.int32, device=device).mul_(noise.GOLDEN)
    h, scratch = torch.empty_like(weyl), torch.empty_like(weyl)
    unit = torch.empty(size, dtype=compute, device=device)
    width, low = (torch.tensor(v, dtype=compute, device=device) for v in (upper - lower, lower))
    key0, key1 = key.to(device=device, dtype=torch.int32)
    for start in range(0, n, size):
        part = slice(start, min(start + size, n))
        m = part.stop - start
        # (start + i) * GOLDEN + key0, wrapping around as int32 does.
        offset = (start * noise.GOLDEN + 2**31) % 2**32 - 2**31
        torch.add(weyl[:m], offset, out=h[:m]).add_(key0)
        _fmix32_(h[:m], scratch[:m])
        _fmix32_(h[:m].bitwise_xor_(key1), scratch[:m])
        _shift_right(h[:m], 8, out=scratch[:m])
        slopes = unit[:m].copy_(scratch[:m]).mul_(2.0**-24).mul_(width).add_(low)
        yield part, slopes.to(flat.dtype)


def _shift_right(h: torch.Tensor, bits: int, out: torch.Tensor) -> torch.Tensor:
    """Logical right shift of int32 into `out` (torch's `>>` is arithmetic)."""
    return torch.bitwise_right_shift(h, bits, out=out).bitwise_and_((1 << (32 - bits)) - 1)


def _fmix32_(h: torch.Tensor, scratch: torch.Tensor) -> None:
    """MurmurHash3's finaliser, in place (`noise._fmix32`)."""
    h.bitwise_xor_(_shift_right(h, 16, out=scratch)).mul_(noise.MURMUR_1)
    h.bitwise_xor_(_shift_right(h, 13, out=scratch)).mul_(noise.MURMUR_2)
    h.bitwise_xor_(_shift_right(h, 16, out=scratch))
