"""Op level: the time of one call of each case on one tensor, forward and forward+backward.

A worker (see `protocol`), one process per backend. On one channels-last
float32 tensor (`shape`, 32x128x128x64 by default), each case is timed forward
and forward+backward (gradients w.r.t. the input and any alpha, upstream all
ones), eager and compiled (`tf.function(jit_compile=True)`, `jax.jit`; torch
runs eager only). Every function runs twice first (tracing, compiling,
allocating); then the repetitions are interleaved (each case once, then again)
and the median of each is kept, in seconds.
"""

from __future__ import annotations

import statistics
import time

from benchmarks import cases, protocol

MODES = ("forward_eager", "backward_eager", "forward_compiled", "backward_compiled")


def _tensorflow(fn, kwargs, x_np):
    import tensorflow as tf

    x = tf.constant(x_np)
    upstream = tf.ones_like(x)

    def forward(x):
        return fn(x, **kwargs)

    def backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x, **kwargs)
        return tape.gradient(y, [x, *fn.trainable_variables], output_gradients=upstream)

    def block(out):
        for t in tf.nest.flatten(out):
            t.numpy()[..., :1]  # Blocks until done (and copies little).

    return (x,), forward, backward, lambda f: tf.function(f, jit_compile=True), block


def _jax(fn, kwargs, x_np):
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in fn.trainable_variables]
    non_trainable = [v.value for v in fn.non_trainable_variables]

    def forward(trainable, x):
        return fn.stateless_call(trainable, non_trainable, x, **kwargs)[0]

    def backward(trainable, x):
        y, vjp = jax.vjp(forward, trainable, x)
        return vjp(jnp.ones_like(y))

    return (trainable, jnp.asarray(x_np)), forward, backward, jax.jit, jax.block_until_ready


def _torch(fn, kwargs, x_np):
    import torch

    x = torch.from_numpy(x_np)
    upstream = torch.ones_like(x)
    weights = [v.value for v in getattr(fn, "trainable_variables", [])]  # F.rrelu has none.

    def forward():
        with torch.no_grad():
            return fn(x, **kwargs)

    def backward():
        leaf = x.detach().requires_grad_(True)
        y = fn(leaf, **kwargs)
        return torch.autograd.grad(y, [leaf, *weights], grad_outputs=upstream)

    return (), forward, backward, None, lambda out: None  # Eager CPU torch is synchronous.


def timed_functions(case: cases.Case, shape: tuple[int, ...]) -> dict:
    """{mode: a callable that runs the case once and blocks until the result is there}."""
    import keras
    import numpy as np

    fn = case.build()
    if isinstance(fn, keras.layers.Layer):
        fn.build(shape)
    x_np = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    backend = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[keras.backend.backend()]
    args, forward, backward, compile, block = backend(fn, case.call_kwargs(), x_np)
    functions = {"forward_eager": forward, "backward_eager": backward}
    if compile:
        functions |= {"forward_compiled": compile(forward), "backward_compiled": compile(backward)}
    return {mode: (lambda f=f: block(f(*args))) for mode, f in functions.items()}


def measure(shape: list[int], repeats: int) -> dict[str, dict[str, float]]:
    """{case label: {mode: median seconds}}."""
    import keras

    functions = {
        case.label: timed_functions(case, tuple(shape))
        for case in cases.cases_for(keras.backend.backend())
    }
    for modes in functions.values():
        for once in modes.values():
            once()
            once()
    times = {label: {mode: [] for mode in modes} for label, modes in functions.items()}
    for _ in range(repeats):
        for mode in MODES:
            for label, modes in functions.items():
                if mode in modes:
                    start = time.perf_counter()
                    modes[mode]()
                    times[label][mode].append(time.perf_counter() - start)
    return {
        label: {mode: statistics.median(t) for mode, t in modes.items()}
        for label, modes in times.items()
    }


if __name__ == "__main__":
    protocol.serve(measure)
