"""Runs the benchmarks on each backend and writes their results to one JSON file.

    python -m benchmarks.run                      # every installed backend; ~30 min on 2 cores
    python -m benchmarks.run --backends torch --benchmarks op_timings
    python -m benchmarks.run --backends tensorflow --quick --out /tmp/quick.json  # smoke run
    python -m benchmarks.report                   # the README's tables, from the file

Each measurement runs in its own worker process (see `protocol`). The file
(`--out`, default `benchmarks/results/cpu.json`) maps each backend and
benchmark to one run: `{"command", "machine", "versions", "settings",
"values"}`, `values` being the raw figures by case label (the unit is in each
benchmark's docstring). A run replaces only the entries it measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys

from benchmarks import cases, protocol, report
from benchmarks.model_memory import EXACT_MALLOC

BENCHMARKS = ("op_timings", "fit_step", "model_memory")


def run(benchmark: str, backend: str, settings: dict) -> dict:
    """One benchmark on one backend: its workers' values, merged."""
    if benchmark == "model_memory":  # A fresh process per case.
        results = [
            protocol.run_worker(benchmark, backend, EXACT_MALLOC, label=case.label, **settings)
            for case in cases.MODEL_CASES
        ]
    else:
        results = [protocol.run_worker(benchmark, backend, **settings)]
    values = {label: v for result in results for label, v in result["values"].items()}
    return {"versions": results[0]["versions"], "settings": settings, "values": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    installed = [b for b in report.BACKENDS if importlib.util.find_spec(b)]
    parser.add_argument("--backends", nargs="+", default=installed)
    parser.add_argument("--benchmarks", nargs="+", default=BENCHMARKS, choices=BENCHMARKS)
    parser.add_argument("--shape", nargs="+", type=int, default=[32, 128, 128, 64])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--mlp", nargs=3, type=int, default=[24, 2048, 2048], metavar=("LAYERS", "UNITS", "BATCH")
    )
    parser.add_argument("--image", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", default=protocol.RESULTS)
    parser.add_argument("--note", help="kept with the runs: what else ran on the machine, say")
    args = parser.parse_args()
    if args.quick:
        args.shape, args.repeats, args.mlp, args.steps = [4, 32, 32, 16], 3, [4, 256, 256], 3
    settings = {
        "op_timings": {"shape": args.shape, "repeats": args.repeats},
        "fit_step": {
            "image": args.image,
            "batch": args.batch,
            "steps": args.steps,
            "repeats": args.repeats,
        },
        "model_memory": dict(zip(("layers", "units", "batch"), args.mlp, strict=True)),
    }
    # The command without its note, which is kept on its own: `--note TEXT` or `--note=TEXT`.
    argv, rest = [], iter(sys.argv[1:])
    for argument in rest:
        if argument == "--note":
            next(rest, None)
        elif not argument.startswith("--note="):
            argv.append(argument)
    meta = {
        "command": " ".join(["python -m benchmarks.run", *argv]),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        **({"note": args.note} if args.note else {}),
    }
    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for backend in args.backends:
        for benchmark in args.benchmarks:
            print(f"{benchmark} on {backend}", flush=True)
            entry = run(benchmark, backend, settings[benchmark])
            results.setdefault(backend, {})[benchmark] = {**meta, **entry}
            with open(args.out, "w") as f:  # After each run: a long one keeps what it has.
                json.dump(results, f, indent=1)
    print(f"wrote {args.out}; `python -m benchmarks.report {args.out}` renders it")


if __name__ == "__main__":
    main()
