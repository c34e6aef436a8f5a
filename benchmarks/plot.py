"""Draws a results file of `benchmarks.run` as a chart: the README's figure.

    python -m benchmarks.plot                     # benchmarks/results/cpu.json -> cpu.png

One panel per backend: forward and forward+backward time (eager) and the MLP
training step's peak memory of each case, as ratios to `keras.ReLU` in the same
run (`report.ratios`: the numbers of the README's tables).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

from benchmarks.cases import REFERENCE  # noqa: E402
from benchmarks.protocol import RESULTS  # noqa: E402
from benchmarks.report import BACKENDS, columns, ratios  # noqa: E402

BARS = (("op_timings", "forward_eager"), ("op_timings", "backward_eager"), ("model_memory", None))
"""The columns of `report`'s tables drawn as bars."""


def main(path: str) -> None:
    results = json.loads(Path(path).read_text())
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.4), squeeze=False)
    width = 0.8 / len(BARS)
    for ax, (backend, runs) in zip(axes[0], results.items(), strict=True):
        table = {label: row for label, row in ratios(backend, runs).items() if label != REFERENCE}
        for index, column in enumerate(BARS):
            bar = columns(backend)[column]
            values = [row.get(bar, float("nan")) for row in table.values()]
            positions = [i + (index - (len(BARS) - 1) / 2) * width for i in range(len(table))]
            ax.bar(positions, values, width, label=bar)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(table)), list(table), rotation=35, ha="right", fontsize=7)
        ax.set_ylabel(f"ratio to {REFERENCE} (lower is better)")
        ax.set_title(f"{BACKENDS[backend]}, CPU")
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path).with_suffix(".png")
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else RESULTS)
