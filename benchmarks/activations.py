"""Speed and memory of the leaky rectifiers, as ratios to ReLU measured in the same run.

    python benchmarks/activations.py                      # every installed backend
    python benchmarks/activations.py --backends tensorflow --quick

Each backend runs in its own process (Keras picks its backend at import). For
each backend it measures, on one channels-last float32 tensor (default
32x128x128x64):

- op level: forward and forward+backward (gradients w.r.t. the input and any
  alpha), eager and compiled (`tf.function(jit_compile=True)` / `jax.jit`;
  torch has no compiled mode here), for native ReLU, Keras's LeakyReLU and
  PReLU (`shared_axes=[1, 2]`: one alpha per channel), and keras_leaky's
  LeakyReLU, PReLU and RReLU (training and inference), and on torch its own
  `F.rrelu` in training, the reference for RReLU there. Repetitions are
  interleaved (every case once, then again), and the median taken;
- model level: the peak memory of one training step of a deep MLP (24 Dense
  layers of 2048 units, batch 2048, in a fresh process per activation): on
  TensorFlow from its allocator's statistics, elsewhere as the rise of the
  process's peak resident memory over its resident memory before the step,
  with glibc's allocator told to return every block of 64 KiB or more to the
  system when it is freed (by default it keeps freed memory, and the figures
  then depend on what happened before the step); and the median
  `model.fit` step time of a small CNN.

It prints a table of ratios to ReLU and writes every raw figure to JSON
(`--out`, default `benchmarks/results/cpu.json`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = [
    "relu",
    "keras_leaky_relu",
    "keras_prelu",
    "leaky_relu",
    "prelu",
    "rrelu_training",
    "rrelu_inference",
]
MODES = ["forward_eager", "backward_eager", "forward_compiled", "backward_compiled"]
# glibc: a fixed mmap threshold (which also stops it from rising) and no
# trimming slack, so that resident memory follows what is allocated.
EXACT_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def make_layer(case: str):
    import keras

    import keras_leaky

    return {
        "relu": lambda: keras.layers.ReLU(),
        "keras_leaky_relu": lambda: keras.layers.LeakyReLU(negative_slope=0.2),
        "keras_prelu": lambda: keras.layers.PReLU(
            alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2]
        ),
        "leaky_relu": lambda: keras_leaky.LeakyReLU(negative_slope=0.2),
        "prelu": lambda: keras_leaky.PReLU(),
        "rrelu_training": lambda: keras_leaky.RReLU(seed=0),
        "rrelu_inference": lambda: keras_leaky.RReLU(seed=0),
    }[case]()


# --- Op level: one callable per (case, mode), per backend ---------------------


def op_functions(case: str, shape: tuple[int, ...]):
    """{mode: zero-argument callable that runs once and blocks until done}."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if case == "torch_rrelu_training":
        return _torch_rrelu_functions(shape)
    layer = make_layer(case)
    layer.build(shape)
    training = case == "rrelu_training"
    x_np = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    if backend == "tensorflow":
        return _tensorflow_functions(layer, x_np, training)
    if backend == "jax":
        return _jax_functions(layer, x_np, training)
    return _torch_functions(layer, x_np, training)


def _tensorflow_functions(layer, x_np, training):
    import tensorflow as tf

    x = tf.constant(x_np)
    upstream = tf.ones_like(x)

    def forward(x):
        return layer(x, training=training)

    def backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
        return tape.gradient(y, [x, *layer.trainable_variables], output_gradients=upstream)

    compiled_forward = tf.function(forward, jit_compile=True)
    compiled_backward = tf.function(backward, jit_compile=True)

    def run(fn):
        def once():
            out = fn(x)
            for t in tf.nest.flatten(out):
                t.numpy()[..., :1]  # Blocks until done (and copies little).

        return once

    return {
        "forward_eager": run(forward),
        "backward_eager": run(backward),
        "forward_compiled": run(compiled_forward),
        "backward_compiled": run(compiled_backward),
    }


def _jax_functions(layer, x_np, training):
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(x_np)
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    # stateless_call passes `training` through to `call`: only RReLU takes it.
    kwargs = {"training": training} if "rrelu" in layer.name else {}

    def forward(trainable, x):
        return layer.stateless_call(trainable, non_trainable, x, **kwargs)[0]

    def backward(trainable, x):
        y, vjp = jax.vjp(lambda t, x: forward(t, x), trainable, x)
        return vjp(jnp.ones_like(y))

    def run(fn):
        def once():
            jax.block_until_ready(fn(trainable, x))

        return once

    return {
        "forward_eager": run(forward),
        "backward_eager": run(backward),
        "forward_compiled": run(jax.jit(forward)),
        "backward_compiled": run(jax.jit(backward)),
    }


def _torch_functions(layer, x_np, training):
    import torch

    x = torch.from_numpy(x_np)
    upstream = torch.ones_like(x)
    weights = [v.value for v in layer.trainable_variables]

    def forward():
        with torch.no_grad():
            layer(x, training=training)

    def backward():
        leaf = x.detach().requires_grad_(True)
        y = layer(leaf, training=training)
        torch.autograd.grad(y, [leaf, *weights], grad_outputs=upstream)

    return {"forward_eager": forward, "backward_eager": backward}


def _torch_rrelu_functions(shape):
    """PyTorch's own `F.rrelu` in training (same default bounds): the reference point."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))

    def forward():
        with torch.no_grad():
            F.rrelu(x, 1 / 8, 1 / 3, training=True)

    def backward():
        leaf = x.detach().requires_grad_(True)
        y = F.rrelu(leaf, 1 / 8, 1 / 3, training=True)
        torch.autograd.grad(y, [leaf], grad_outputs=torch.ones_like(y))

    return {"forward_eager": forward, "backward_eager": backward}


def measure_ops(shape, repeats):
    import keras

    cases = CASES + (["torch_rrelu_training"] if keras.backend.backend() == "torch" else [])
    functions = {case: op_functions(case, shape) for case in cases}
    times = {case: {mode: [] for mode in functions[case]} for case in cases}
    for case in cases:  # Warm up: trace, compile, allocate.
        for fn in functions[case].values():
            fn()
            fn()
    for _ in range(repeats):
        for mode in MODES:
            for case in cases:
                if mode in functions[case]:
                    start = time.perf_counter()
                    functions[case][mode]()
                    times[case][mode].append(time.perf_counter() - start)
    return {
        case: {mode: statistics.median(t) for mode, t in modes.items()}
        for case, modes in times.items()
    }


# --- Model level ------------------------------------------------------------------

MODEL_ACTIVATIONS = {
    "relu": "relu",
    "keras_leaky_relu": "leaky_relu",
    "leaky_relu": "LeakyReLU",
    "prelu": "prelu",
    "rrelu": "rrelu",
}


def _resident_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def mlp_step_peak_mib(activation: str, layers: int, units: int, batch: int) -> float:
    """Peak resident memory added by one training step (run in a fresh process)."""
    import keras
    import numpy as np

    import keras_leaky  # noqa: F401  (the names)

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((units,))]
        + [keras.layers.Dense(units, activation=activation) for _ in range(layers)]
        + [keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.001), loss="mse")
    x = np.random.default_rng(0).standard_normal((batch, units), dtype=np.float32)
    y = np.zeros((batch, 1), np.float32)
    small = max(1, batch // 64)
    model.train_on_batch(x[:small], y[:small])  # Trace and compile on a tiny batch.
    if keras.backend.backend() == "tensorflow":
        # TensorFlow's own allocator statistics: exact, unlike resident memory.
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("CPU:0")
        before = tf.config.experimental.get_memory_info("CPU:0")["current"]
        model.train_on_batch(x, y)
        return (tf.config.experimental.get_memory_info("CPU:0")["peak"] - before) / 2**20
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Resets the peak (VmHWM) to the current resident size.
    before = _resident_kib("VmRSS")
    model.train_on_batch(x, y)
    return (_resident_kib("VmHWM") - before) / 1024


def cnn_models(image: int):
    import keras

    import keras_leaky  # noqa: F401  (the names)

    models = {}
    for case, activation in MODEL_ACTIVATIONS.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((image, image, 3)),
                keras.layers.Conv2D(32, 3, padding="same", activation=activation),
                keras.layers.Conv2D(32, 3, padding="same", activation=activation),
                keras.layers.MaxPooling2D(),
                keras.layers.Conv2D(64, 3, padding="same", activation=activation),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ]
        )
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        models[case] = model
    return models


def measure_cnn(image: int, batch: int, steps: int, repeats: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * steps, image, image, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch * steps)
    models = cnn_models(image)
    for model in models.values():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # Warm up.
    times = {case: [] for case in models}
    for _ in range(repeats):
        for case, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            times[case].append((time.perf_counter() - start) / steps)
    return {case: statistics.median(t) for case, t in times.items()}


# --- Driver -------------------------------------------------------------------------


def run_backend(args) -> dict:
    """Everything for the backend this process was started with."""
    import keras

    shape = tuple(args.shape)
    result = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "ops_seconds": measure_ops(shape, args.repeats),
        "cnn_step_seconds": measure_cnn(args.image, args.batch, args.steps, args.repeats),
        "mlp_peak_mib": {},
    }
    for case, activation in MODEL_ACTIVATIONS.items():
        code = (
            f"import sys; sys.path.insert(0, {HERE!r}); import activations; "
            f"print(activations.mlp_step_peak_mib({activation!r}, {args.mlp[0]}, "
            f"{args.mlp[1]}, {args.mlp[2]}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, **EXACT_MALLOC},
        )
        result["mlp_peak_mib"][case] = float(out.stdout.strip().splitlines()[-1])
    return result


def ratios(result: dict) -> dict:
    ops = result["ops_seconds"]
    table = {
        case: {mode: ops[case][mode] / ops["relu"][mode] for mode in ops[case]} for case in ops
    }
    for name, key in [("cnn_step", "cnn_step_seconds"), ("mlp_peak_memory", "mlp_peak_mib")]:
        for case, value in result[key].items():
            table.setdefault(case, {})[name] = value / result[key]["relu"]
    return table


def print_table(result: dict) -> None:
    table = ratios(result)
    columns = MODES + ["mlp_peak_memory", "cnn_step"]
    print(f"\n{result['backend']} (Keras {result['keras']}): ratio to ReLU, lower is better")
    print(f"{'case':<22}" + "".join(f"{c:>19}" for c in columns))
    for case, row in table.items():
        cells = "".join(f"{row[c]:>18.2f}x" if c in row else f"{'-':>19}" for c in columns)
        print(f"{case:<22}" + cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    installed = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)]
    parser.add_argument("--backends", nargs="+", default=installed)
    parser.add_argument("--shape", nargs="+", type=int, default=[32, 128, 128, 64])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--mlp", nargs=3, type=int, default=[24, 2048, 2048], metavar=("LAYERS", "UNITS", "BATCH")
    )
    parser.add_argument("--image", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "cpu.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.shape, args.repeats, args.mlp, args.steps = [4, 32, 32, 16], 3, [4, 256, 256], 3
    if args.child:
        print("RESULT" + json.dumps(run_backend(args)))
        return

    results = []
    for backend in args.backends:
        command = [sys.executable, os.path.abspath(__file__), "--child", *sys.argv[1:]]
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode:
            sys.exit(f"{backend} failed:\n{out.stderr[-3000:]}")
        line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
        result = json.loads(line[len("RESULT") :])
        results.append(result)
        print_table(result)
    machine = {
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    report = {
        "command": "python benchmarks/activations.py " + " ".join(sys.argv[1:]),
        "machine": machine,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "child")},
        "results": [{**r, "ratios": ratios(r)} for r in results],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
