"""Draws the main figures of a results JSON from `benchmarks/activations.py`.

    python benchmarks/plot.py benchmarks/results/cpu.json   # writes cpu.png beside it

One panel per backend: forward and forward+backward time (eager), and MLP
training-step peak memory, each as a ratio to ReLU measured in the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

CASES = {
    "keras_leaky_relu": "Keras LeakyReLU",
    "keras_prelu": "Keras PReLU",
    "leaky_relu": "keras_leaky LeakyReLU",
    "prelu": "keras_leaky PReLU",
    "rrelu_training": "keras_leaky RReLU (train)",
    "rrelu_inference": "keras_leaky RReLU (infer)",
}
FIGURES = {
    "forward_eager": "forward",
    "backward_eager": "forward+backward",
    "mlp_peak_memory": "MLP step peak memory",
}
MEMORY_CASE = {"rrelu_training": "rrelu", "rrelu_inference": None}


def main(path: str) -> None:
    report = json.loads(Path(path).read_text())
    results = report["results"]
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    width = 0.8 / len(FIGURES)
    for ax, result in zip(axes[0], results, strict=True):
        ratios = result["ratios"]
        for index, (figure, label) in enumerate(FIGURES.items()):
            values = []
            for case in CASES:
                key = MEMORY_CASE.get(case, case) if figure == "mlp_peak_memory" else case
                value = ratios.get(key, {}).get(figure) if key else None
                values.append(float("nan") if value is None else value)
            positions = [i + (index - 1) * width for i in range(len(CASES))]
            ax.bar(positions, values, width, label=label)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(CASES)), list(CASES.values()), rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("ratio to ReLU (lower is better)")
        ax.set_title(f"{result['backend']} (Keras {result['keras']}), CPU")
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path).with_suffix(".png")
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/cpu.json")
