"""RReLU's noise (`keras_leaky.backend.noise`): the specified hash, on every backend.

A NumPy transcription of the formula in the module docstring, in uint32, is
the reference: every backend must compute exactly its slopes from a key, so
a key gives the same noise on TensorFlow, JAX and PyTorch (within one unit in
the last place where XLA compiles the hash). The statistics
users rely on (uniform, independent between elements and between keys) are
checked on the backend's own output.
"""

import keras
import numpy as np
import pytest
import scipy.stats

from keras_leaky.backend import noise
from tests.backend_utils import to_numpy


def fmix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def reference_slopes(shape, key, lower, upper, dtype=np.float32):
    index = np.arange(np.prod(shape), dtype=np.uint32).reshape(shape)
    k0, k1 = np.asarray(key, np.uint32)
    h = fmix32(fmix32(index * np.uint32(0x9E3779B1) + k0) ^ k1)
    unit = (h >> np.uint32(8)).astype(dtype) * dtype(2.0**-24)
    return unit * dtype(upper - lower) + dtype(lower)


@pytest.mark.parametrize("key", [(0, 0), (1, 2), (2**31 - 2, 123456789)])
# JAX runs without float64 unless JAX_ENABLE_X64 is set.
@pytest.mark.parametrize(
    "dtype", ["float32"] + ([] if keras.backend.backend() == "jax" else ["float64"])
)
def test_slopes_are_the_specified_hash(key, dtype):
    x = np.zeros((3, 50, 7), dtype)
    slopes = noise.uniform_like(keras.ops.convert_to_tensor(x), np.int32(key), 0.125, 1 / 3)
    expected = reference_slopes(x.shape, key, 0.125, 1 / 3, np.dtype(dtype).type)
    np.testing.assert_array_equal(to_numpy(slopes), expected)  # Op by op: the same bits.


def compile_with_xla(fn):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    pytest.skip("XLA: TensorFlow and JAX")


@pytest.mark.parametrize("bounds", [(0.125, 1 / 3), (0.01, 0.99), (0.0, 0.5)])
def test_slopes_under_xla_are_within_one_ulp(bounds):
    """XLA rewrites the last multiply and add: some slopes move by one ulp, no more."""
    key = (1, 2)
    x = np.zeros((200_000,), np.float32)
    slopes = compile_with_xla(lambda x, key: noise.uniform_like(x, key, *bounds))(
        keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(np.int32(key))
    )
    expected = reference_slopes(x.shape, key, *bounds)
    np.testing.assert_array_max_ulp(to_numpy(slopes), expected, maxulp=1)


def test_slopes_are_uniform_and_independent():
    n = 100_000
    x = keras.ops.zeros((n,))
    first = to_numpy(noise.uniform_like(x, np.int32([5, 6]), 0.0, 1.0)).astype(np.float64)
    second = to_numpy(noise.uniform_like(x, np.int32([5, 7]), 0.0, 1.0)).astype(np.float64)
    for slopes in (first, second):
        assert scipy.stats.kstest(slopes, "uniform").pvalue > 0.01
    # Correlation between neighbours, and between keys differing in one bit:
    # about N(0, 1/n), so |r| < 5/sqrt(n).
    bound = 5 / np.sqrt(n)
    assert abs(np.corrcoef(first[:-1], first[1:])[0, 1]) < bound
    assert abs(np.corrcoef(first, second)[0, 1]) < bound


def test_keys_differ_per_draw_of_a_seed_generator_and_repeat_per_int_seed():
    generator = keras.random.SeedGenerator(3)
    keys = [tuple(to_numpy(noise.draw_key(generator))) for _ in range(3)]
    assert len(set(keys)) == 3
    assert all(0 <= k < noise.MAX_SEED for key in keys for k in key)
    np.testing.assert_array_equal(to_numpy(noise.draw_key(9)), to_numpy(noise.draw_key(9)))
