"""The PyTorch and JAX fast paths give the portable reference's outputs and gradients.

`keras_leaky._torch` (`F.leaky_relu`, `F.prelu`, RReLU's chunked hash) and
`keras_leaky._jax` (the portable forms under `jax.jit`) replace the
`keras.ops` forms on their backends; the portable forms, run op by op, stay
the reference. Same inputs as the TensorFlow fast-path tests: 0, -0.0, NaN,
+-inf and subnormals in every channel, every float dtype, every alpha shape.
"""

import keras
import numpy as np
import pytest

from keras_leaky import ops as leaky_ops
from tests.fast_path_test import ALPHAS, DTYPES, make_x

BACKEND = keras.backend.backend()
pytestmark = pytest.mark.skipif(
    BACKEND not in ("torch", "jax"), reason="PyTorch and JAX fast paths"
)

TOLERANCE = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}


def value_and_grads(fn, args, dtype, upstream):
    """`fn(*args)` in `dtype` and its gradients w.r.t. `args`, as float64 NumPy."""
    if BACKEND == "torch":
        import torch

        leaves = [torch.tensor(a).to(getattr(torch, dtype)).requires_grad_(True) for a in args]
        y = fn(*leaves)
        grads = torch.autograd.grad(y, leaves, grad_outputs=torch.tensor(upstream).to(y.dtype))
        return [t.detach().to(torch.float64).numpy() for t in (y, *grads)]
    import jax
    import jax.numpy as jnp

    if dtype == "float64" and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs jax_enable_x64")
    y, vjp = jax.vjp(fn, *[jnp.asarray(a, dtype) for a in args])
    grads = vjp(jnp.asarray(upstream, y.dtype))
    return [np.asarray(t.astype(jnp.float32), np.float64) for t in (y, *grads)]


def assert_same(fast, expected, dtype):
    for a, e in zip(fast, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, TOLERANCE[dtype], TOLERANCE[dtype], equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_fast_path_equals_reference(slope, dtype):
    fast_paths = leaky_ops._fast_paths()
    x = make_x((4, 6, 3), seed=1)
    upstream = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)

    def reference(x):
        return leaky_ops._leaky_relu(x, slope)

    fast = value_and_grads(lambda x: fast_paths.leaky_relu(x, slope), [x], dtype, upstream)
    assert_same(fast, value_and_grads(reference, [x], dtype, upstream), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha_kind", list(ALPHAS) + ["channels_first"])
def test_prelu_fast_path_equals_reference(alpha_kind, dtype):
    fast_paths = leaky_ops._fast_paths()
    x = make_x((2, 5, 6, 3), seed=3)
    if alpha_kind == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, H, W)
        alpha = np.array([0.1, -0.5, 1.5], np.float32).reshape(3, 1, 1)
    else:
        alpha = np.asarray(ALPHAS[alpha_kind](3), np.float32)
    upstream = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)

    def fast_or_reference(x, alpha):
        y = fast_paths.prelu(x, alpha)
        return leaky_ops._prelu(x, alpha) if y is None else y

    fast = value_and_grads(fast_or_reference, [x, alpha], dtype, upstream)
    assert fast[2].shape == alpha.shape
    assert_same(fast, value_and_grads(leaky_ops._prelu, [x, alpha], dtype, upstream), dtype)


@pytest.mark.parametrize("chunk", [5, None], ids=["many_chunks", "one_chunk"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2)])
def test_rrelu_training_fast_path_equals_reference(bounds, dtype, chunk, monkeypatch):
    from keras_leaky import _noise

    fast_paths = leaky_ops._fast_paths()
    if chunk is not None:
        if BACKEND != "torch":
            pytest.skip("Only PyTorch's RReLU works in chunks")
        monkeypatch.setattr(fast_paths, "CPU_CHUNK", chunk)  # Chunks start at odd offsets.
    x = make_x((4, 6, 3), seed=5)
    upstream = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    key = _noise.draw_key(7)  # One key: both must compute the same slopes from it.

    def fast_fn(x):
        return fast_paths.rrelu_training(x, key, *bounds)

    fast = value_and_grads(fast_fn, [x], dtype, upstream)
    expected = value_and_grads(lambda x: leaky_ops._rrelu(x, key, *bounds), [x], dtype, upstream)
    assert_same(fast, expected, dtype)
    if BACKEND == "torch":  # The very same slopes. Under jax.jit XLA rewrites the
        # slope's last multiply and add, which moves some by one unit in the last place.
        np.testing.assert_array_equal(fast[0], expected[0])
