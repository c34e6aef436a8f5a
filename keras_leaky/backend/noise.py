"""RReLU's noise: uniform slopes from a counter-based hash, the same on every backend.

Each element's slope is a function of a 64-bit key and the element's index:

```
h = fmix32(fmix32(index * 0x9E3779B1 + key[0]) ^ key[1])
slope = lower + (upper - lower) * (h >> 8) / 2**24
```

where `fmix32` is MurmurHash3's finaliser (every input bit flips about half
the output bits). The key is drawn once per call with `keras.random`, so
seeds and `SeedGenerator`s behave as everywhere in Keras; the slopes
themselves need no random state. That is what makes RReLU cheap: a compiled
kernel (XLA) computes them inside the same loop as the activation, with no
tensor of random bits in memory, and the backward pass computes them again
from the key instead of keeping them. Slopes take 2**24 evenly spaced values
in `[lower, upper)`, as a float32 uniform draw does. Run op by op, every
backend gives the same bits; XLA (TensorFlow's kernels, `jax.jit`) rewrites
the last multiply and add, which moves about a fifth of the slopes by one
unit in the last place (never more: measured over millions of elements).
Tensors are indexed in int32, so beyond 2**31 elements the pattern repeats.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_leaky._validation import MAX_SEED

# 0x9E3779B1, 0x85EBCA6B, 0xC2B2AE35 as int32: the arithmetic wraps around.
GOLDEN = -1640531535
MURMUR_1 = -2048144789
MURMUR_2 = -1028477387


def draw_key(seed: int | keras.random.SeedGenerator | None) -> Any:
    """Two int32s from `keras.random`: a new key per call for a `SeedGenerator`.

    Each in `[0, MAX_SEED)`, the seed bound, which every backend's int32
    random ints reach.
    """
    return keras.random.randint((2,), 0, MAX_SEED, dtype="int32", seed=seed)


def _shift_right(h: Any, bits: int) -> Any:
    """Logical right shift of int32 (a backend's `>>` on int32 is arithmetic)."""
    return ops.bitwise_and(ops.right_shift(h, bits), (1 << (32 - bits)) - 1)


def _fmix32(h: Any) -> Any:
    h = ops.bitwise_xor(h, _shift_right(h, 16))
    h = ops.multiply(h, MURMUR_1)
    h = ops.bitwise_xor(h, _shift_right(h, 13))
    h = ops.multiply(h, MURMUR_2)
    return ops.bitwise_xor(h, _shift_right(h, 16))


def uniform_like(x: Any, key: Any, lower: float, upper: float) -> Any:
    """One slope in `[lower, upper)` per element of `x`, in `x`'s dtype.

    Computed in float64 for float64 `x` and in float32 otherwise.
    """
    dtype = "float64" if keras.backend.standardize_dtype(x.dtype) == "float64" else "float32"
    key = ops.cast(key, "int32")
    index = ops.reshape(ops.arange(ops.size(x), dtype="int32"), ops.shape(x))
    h = _fmix32(ops.add(ops.multiply(index, GOLDEN), key[0]))
    h = _fmix32(ops.bitwise_xor(h, key[1]))
    unit = ops.multiply(ops.cast(_shift_right(h, 8), dtype), 2.0**-24)  # Exact.
    # The bounds as tensors of `dtype`: a Python float would pass through floatx.
    width, lower = (ops.convert_to_tensor(v, dtype) for v in (upper - lower, lower))
    slopes = ops.add(ops.multiply(unit, width), lower)
    return ops.cast(slopes, x.dtype)
