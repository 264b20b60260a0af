"""Replay the divergence guard's rules over logged training runs: where would it have rolled back?

    python benchmarks/guard_replay.py runs/zoo2-plain/diverged/metrics-to-1167.jsonl runs/gpu/logs/*/metrics.jsonl \
        runs/zoo-plain/metrics.jsonl ...        # writes benchmarks/results/guard_replay.json

A run's metrics.jsonl holds, per logged window, each style's mean loss terms (``content@great_wave`` ...);
their sum is that style's loss. The replay feeds those, window by window and style by style, to
:class:`preserve.guard.SpikeGuard` at its default factors, as the trainer feeds it single steps, and reports
the first window each rule would have fired at (the guard itself is never allowed to roll back here). A
window averages several steps, so the replay sees less noise than the trainer does; it shows whether the
rules tell healthy runs from the ones that went bad, not the exact step. Also reported: the largest rise of
one style's logged loss from one of its windows to the next, to tell a creep from a spike.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.guard import SpikeGuard  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def style_losses(row: dict) -> dict[str, float]:
    """Each style's summed loss terms in one logged window (one-style runs: ``{"": total}``)."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if "@" in key:
            out[key.split("@", 1)[1]] = out.get(key.split("@", 1)[1], 0.0) + value
    return out or {"": row["total"]}


def replay(path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    model = torch.nn.Linear(1, 1)
    guard = SpikeGuard(snapshot_every=10**9)  # one snapshot at the start and none after: nothing is rolled back
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    first: dict[str, int | None] = {"spike": None, "creep": None}
    last: dict[str, float] = {}
    worst_rise = 0.0
    index = {}
    for row in rows:
        for name, loss in sorted(style_losses(row).items()):
            style = index.setdefault(name, len(index))
            reason = guard.check(style, loss)
            if reason and first[reason] is None:
                first[reason] = row["step"]
            if name in last:
                worst_rise = max(worst_rise, loss / last[name])
            last[name] = loss
            guard.accept(style, loss, row["step"], model, optimizer)
    return {"windows": len(rows), "last_step": rows[-1]["step"] if rows else 0, "styles": len(index),
            "first_spike": first["spike"], "first_creep": first["creep"], "largest_window_rise": worst_rise}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", nargs="+", type=Path, help="metrics.jsonl files of training runs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "guard_replay.json"))
    args = parser.parse_args()
    guard = SpikeGuard()
    runs = {}
    for path in args.metrics:
        name = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
        runs[name] = replay(path)
        print(f"{name}: {runs[name]}")
    write_result(args.out, {"benchmark": "guard_replay", "machine": machine(), "spike_factor": guard.factor,
                            "creep_factor": guard.creep_factor, "window": guard.window, "runs": runs})


if __name__ == "__main__":
    main()
