"""Draws the benchmark figures in docs/ from the committed benchmark results (no measuring here).

    python docs/make_plots.py     # docs/images/latency.png from benchmarks/results/networks.json
"""
from __future__ import annotations

import json
from pathlib import Path

from preserve.plots import plot_latency

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    result = json.loads((ROOT / "benchmarks" / "results" / "networks.json").read_text())
    plot_latency(result["latency_ms"], ROOT / "docs" / "images" / "latency.png",
                 title=f"stylize latency\n{result['machine']}")
    print(ROOT / "docs" / "images" / "latency.png")


if __name__ == "__main__":
    main()
