"""Renders a results file of `benchmarks.run` as markdown: the README's tables, verbatim.

    python -m benchmarks.report                   # benchmarks/results/cpu.json
    python -m benchmarks.report /tmp/quick.json
    python -m benchmarks.report --check README.md   # fails unless README holds the output

One table per backend: each case's figures as ratios to `keras.ReLU`'s in the
same run (lower is better), then which run each benchmark's figures come from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.cases import REFERENCE
from benchmarks.protocol import RESULTS

BACKENDS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
COMPILED = {"tensorflow": "XLA", "jax": "jit"}


def columns(backend: str) -> dict[tuple[str, str | None], str]:
    """{(benchmark, mode or None): column heading}, in the tables' order."""
    compiled = COMPILED.get(backend, "compiled")
    return {
        ("op_timings", "forward_eager"): "fwd eager",
        ("op_timings", "backward_eager"): "fwd+bwd eager",
        ("op_timings", "forward_compiled"): f"fwd {compiled}",
        ("op_timings", "backward_compiled"): f"fwd+bwd {compiled}",
        ("model_memory", None): "MLP step peak memory",
        ("fit_step", None): "CNN fit step",
    }


def ratios(backend: str, runs: dict[str, dict]) -> dict[str, dict[str, float]]:
    """{case label: {column heading: figure / the reference's figure in the same run}}."""
    table: dict[str, dict[str, float]] = {}
    for (benchmark, mode), heading in columns(backend).items():
        values = runs.get(benchmark, {}).get("values", {})
        for label, figures in values.items():
            if mode is None:
                table.setdefault(label, {})[heading] = figures / values[REFERENCE]
            elif mode in figures:
                table.setdefault(label, {})[heading] = figures[mode] / values[REFERENCE][mode]
    return table


def source(run: dict) -> str:
    machine = run["machine"]
    where = f"{machine['processor']}, {machine['cpus']} CPUs, Python {machine['python']}"
    note = f" {run['note']}" if "note" in run else ""
    return f"`{run['command']}`, on {where}.{note}"


def render(results: dict[str, dict[str, dict]]) -> str:
    blocks = []
    for backend, runs in results.items():
        table = ratios(backend, runs)
        headings = [h for h in columns(backend).values() if any(h in r for r in table.values())]
        versions = {name: v for run in runs.values() for name, v in run["versions"].items()}
        lines = [
            f"**{BACKENDS[backend]}** ({', '.join(f'{n} {v}' for n, v in versions.items())})",
            "",
            f"| ratio to `{REFERENCE}` | " + " | ".join(headings) + " |",
            "|---" * (len(headings) + 1) + "|",
        ]
        for label, row in table.items():
            if label != REFERENCE:
                cells = [f"{row[h]:.2f}x" if h in row else "—" for h in headings]
                lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
        sources: dict[str, list[str]] = {}
        for benchmark, run in runs.items():
            sources.setdefault(source(run), []).append(f"`{benchmark}`")
        lines += [""] + [f"- {', '.join(b)}: {s}" for s, b in sources.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default=RESULTS)
    parser.add_argument("--check", metavar="MARKDOWN", help="fail unless it holds the output")
    args = parser.parse_args()
    with open(args.results) as f:
        text = render(json.load(f))
    if not args.check:
        print(text)
    elif text not in Path(args.check).read_text():
        sys.exit(f"{args.check} does not hold `python -m benchmarks.report`'s output verbatim")


if __name__ == "__main__":
    main()
