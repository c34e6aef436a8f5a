"""How a measurement runs: in a worker process, which prints its result as one JSON line.

Keras picks its backend once per process, at import, so each measurement runs
in a fresh process with `KERAS_BACKEND` set:

    KERAS_BACKEND=jax python -m benchmarks.op_timings '{"shape": [4, 32, 32, 16], "repeats": 3}'

The worker reads its settings from its one argument (JSON), and its last line
of output is its result: `{"versions": {...}, "values": {case label: figure}}`.
`run_worker` starts one and returns that result; `serve` is a worker's `main`.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "cpu.json")
"""The results file `benchmarks.run` writes and `report` and `plot` read by default."""


def run_worker(module: str, backend: str, env: dict[str, str] | None = None, **settings) -> dict:
    """Runs `benchmarks.<module>` on `backend` with `settings`, and returns its result."""
    command = [sys.executable, "-m", f"benchmarks.{module}", json.dumps(settings)]
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ, "KERAS_BACKEND": backend, **(env or {})}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode:
        sys.exit(f"{module} on {backend} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.splitlines()[-1])


def serve(measure: Callable[..., dict[str, Any]]) -> None:
    """A worker's `main`: `measure(**settings)`, printed with the versions it ran on."""
    import keras

    backend = keras.backend.backend()
    versions = {"keras": keras.__version__, backend: importlib.import_module(backend).__version__}
    values = measure(**json.loads(sys.argv[1]))
    print(json.dumps({"versions": versions, "values": values}))
