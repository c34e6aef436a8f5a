"""The PyTorch fast paths give the portable reference's outputs and gradients.

`keras_leaky._torch` (`F.leaky_relu`, `F.prelu`) replaces the `keras.ops`
forms on the torch backend where it can; the portable forms stay the
reference. Same inputs as the TensorFlow fast-path tests: 0, -0.0, NaN,
+-inf and subnormals in every channel, every float dtype, every alpha shape.
"""

import keras
import numpy as np
import pytest

from keras_leaky import ops as leaky_ops
from tests.fast_path_test import ALPHAS, DTYPES, make_x

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch fast paths")

TOLERANCE = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}


def value_and_grads(fn, args, dtype, upstream):
    """`fn(*args)` in `dtype` and its gradients w.r.t. `args`, as float64 NumPy."""
    import torch

    leaves = [torch.tensor(a).to(getattr(torch, dtype)).requires_grad_(True) for a in args]
    y = fn(*leaves)
    grads = torch.autograd.grad(y, leaves, grad_outputs=torch.tensor(upstream).to(y.dtype))
    return [t.detach().to(torch.float64).numpy() for t in (y, *grads)]


def assert_same(fast, expected, dtype):
    for a, e in zip(fast, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, TOLERANCE[dtype], TOLERANCE[dtype], equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_fast_path_equals_reference(slope, dtype):
    from keras_leaky import _torch

    x = make_x((4, 6, 3), seed=1)
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)

    def reference(x):
        return leaky_ops._leaky(x, keras.ops.convert_to_tensor(slope, x.dtype))

    fast = value_and_grads(lambda x: _torch.leaky_relu(x, slope), [x], dtype, upstream)
    assert_same(fast, value_and_grads(reference, [x], dtype, upstream), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha_kind", list(ALPHAS) + ["channels_first"])
def test_prelu_fast_path_equals_reference(alpha_kind, dtype):
    from keras_leaky import _torch

    x = make_x((2, 5, 6, 3), seed=3)
    if alpha_kind == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, H, W)
        alpha = np.array([0.1, -0.5, 1.5], np.float32).reshape(3, 1, 1)
    else:
        alpha = np.asarray(ALPHAS[alpha_kind](3), np.float32)
    upstream = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)

    def fast_or_reference(x, alpha):
        y = _torch.prelu(x, alpha)
        return leaky_ops._prelu(x, alpha) if y is None else y

    fast = value_and_grads(fast_or_reference, [x, alpha], dtype, upstream)
    assert_same(fast, value_and_grads(leaky_ops._prelu, [x, alpha], dtype, upstream), dtype)


@pytest.mark.parametrize(
    "x_shape, alpha_shape, expected",
    [
        ((2, 5, 3), (3,), True),  # one alpha per channel, channels last
        ((2, 3, 5, 5), (3, 1, 1), True),  # one per channel, channels first
        ((2, 5), (), True),  # scalar
        ((2, 5, 3), (5, 3), False),  # per element: portable form
        ((3,), (3,), False),  # rank 1 has no channel axis for F.prelu
    ],
)
def test_prelu_uses_f_prelu_exactly_where_it_applies(x_shape, alpha_shape, expected):
    import torch

    from keras_leaky import _torch

    y = _torch.prelu(torch.ones(x_shape), torch.full(alpha_shape, 0.5))
    assert (y is not None) == expected


def test_leaky_relu_slope_beyond_the_dtype_uses_the_portable_form():
    import torch

    from keras_leaky import _torch

    assert _torch.leaky_relu(torch.zeros(2, dtype=torch.float16), 7e4) is None
    y = leaky_ops.leaky_relu(torch.zeros(2, dtype=torch.float16), 7e4)
    assert torch.isnan(y).all()  # 0 * inf, as the reference computes it in float16


@pytest.mark.parametrize("chunk", [5, 1 << 18], ids=["many_chunks", "one_chunk"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2)])
def test_rrelu_training_fast_path_equals_reference(bounds, dtype, chunk, monkeypatch):
    from keras_leaky import _noise, _torch

    monkeypatch.setattr(_torch, "CPU_CHUNK", chunk)  # 5: chunks start at odd offsets.
    x = make_x((4, 6, 3), seed=5)
    upstream = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    key = _noise.draw_key(7)  # One key: both must compute the same slopes from it.

    fast = value_and_grads(lambda x: _torch.rrelu_training(x, key, *bounds), [x], dtype, upstream)
    expected = value_and_grads(lambda x: leaky_ops._rrelu(x, key, *bounds), [x], dtype, upstream)
    assert_same(fast, expected, dtype)
    np.testing.assert_array_equal(fast[0], expected[0])  # The very same slopes.


def saved_for_backward(fn, x):
    """`fn(x)` and the tensors autograd saved for its backward pass."""
    import torch

    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = fn(x)
    return y, saved


@pytest.mark.parametrize(
    "fn, keeps_output",
    [
        (lambda x: leaky_ops.leaky_relu(x, 0.1), True),
        (lambda x: leaky_ops.rrelu(x, training=True, seed=1), True),
        (lambda x: leaky_ops.prelu(x, np.linspace(0.1, 1.0, 16)), True),
        (lambda x: leaky_ops.prelu(x, 0.5), True),
        # A negative or zero alpha: y does not tell x's sign; x is kept.
        (lambda x: leaky_ops.prelu(x, np.linspace(-0.5, 1.0, 16)), False),
        (lambda x: leaky_ops.prelu(x, 0.0), False),
    ],
    ids=["leaky_relu", "rrelu", "prelu_channel", "prelu_scalar", "prelu_negative", "prelu_0"],
)
def test_backward_keeps_the_output_not_the_input(fn, keeps_output):
    """What the next layer keeps anyway: training memory at ReLU's, not twice it."""
    import torch

    x = torch.randn(8, 16, requires_grad=True)
    y, saved = saved_for_backward(fn, x)
    large = [t for t in saved if t.numel() == x.numel()]
    assert len(large) == 1  # Only one tensor of x's size: no random slopes either.
    assert large[0].data_ptr() == (y if keeps_output else x).data_ptr()  # Or a view of it.


def test_rrelu_under_torch_compile_uses_the_portable_form():
    """`torch.compile` fuses the portable form; the chunked loop would be unrolled."""
    import torch

    from keras_leaky import _noise, _torch

    key = _noise.draw_key(3)
    x = torch.tensor(make_x((4, 6, 3), seed=8))
    seen = []

    def fn(x):
        seen.append(_torch.rrelu_training(x, key, 0.1, 0.3))
        return leaky_ops._rrelu(x, key, 0.1, 0.3)

    compiled = torch.compile(fn, backend="eager", fullgraph=True)(x)
    assert seen == [None]
    eager = _torch.rrelu_training(x, key, 0.1, 0.3)
    np.testing.assert_array_equal(compiled.numpy(), eager.numpy())
