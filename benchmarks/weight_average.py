"""Does a run's moving average of its weights (``preserve train --ema``) paint better than its last step's weights?

    python benchmarks/weight_average.py runs/zoo4-plain runs/zoo4-faces-tone --photos 12 --size 384 \
        --out benchmarks/results/zoo_stage4_average.json

Each run's ``checkpoints/last.pt`` is split into two files in ``runs/weight-average/``: ``RUN-last-STEP.pt`` (the
weights of its last step) and ``RUN-average-STEP.pt`` (the moving average). Both are then evaluated per style
beside the shipped plain model, as ``zoo_gpu.py compare`` does: style ratio and content loss on the first
``--photos`` held-out photos of ``runs/zoo-data``. Same photos, same machine, one run of this script.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from zoo_gpu import compare  # this script runs beside it in benchmarks/

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ROOT / "runs" / "weight-average"


def split(run: Path, folder: Path = SPLIT) -> list[Path]:
    """``run``'s last checkpoint as two checkpoint files: its last step's weights, then their moving average."""
    saved = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    if "ema" not in saved:
        raise SystemExit(f"{run}: its checkpoint holds no moving average (train it with --ema)")
    average = saved.pop("ema")
    steps = saved.pop("ema_steps")
    folder.mkdir(parents=True, exist_ok=True)
    last, mean = folder / f"{run.name}-last-{saved['step']}.pt", folder / f"{run.name}-average-{saved['step']}.pt"
    torch.save(saved, last)
    torch.save({**saved, "model": average}, mean)
    print(f"{run.name}: step {saved['step']}, averaged over its last {steps} steps", flush=True)
    return [last, mean]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders trained with --ema")
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "weight_average.json")
    args = parser.parse_args()
    files = [f for run in args.runs for f in split(run)]
    return compare(files, args.photos, args.size, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
