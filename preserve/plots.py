"""Figures drawn with matplotlib (Agg, no display needed): a run's losses, the evaluation histogram in the
style of the paper's Fig. 11, and per-face identity distances plain against preserved.

Each function writes a PNG and returns the arrays it plotted, so a test can check the data rather than
pixels. Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot global state), so they
are safe from threads and never open a window.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from .atomic import atomic_write

#: Logged keys that are bookkeeping, not losses or counts.
META_KEYS = {"step", "epoch", "images_per_s", "s_per_step"}


def _figure(width: float, height: float, rows: int = 1, cols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def smooth(values: Sequence[float], window: int | None = None) -> list[float]:
    """A centred moving average (at the ends, over the neighbours there are): no lag, so a steep start
    does not drag the line. ``window`` (odd) defaults to about a tenth of the points."""
    n = len(values)
    window = window or max(1, (n // 10) | 1)
    half = window // 2
    return [sum(values[max(0, i - half):i + half + 1]) / len(values[max(0, i - half):i + half + 1])
            for i in range(n)]


def _smooth_log(values: Sequence[float]) -> list[float]:
    """:func:`smooth` in log space: losses spanning decades are averaged geometrically, as drawn."""
    import math

    return [math.exp(v) for v in smooth([math.log(v) for v in values])]


def is_counter(key: str) -> bool:
    """Whether a logged key counts things (faces seen, faces skipped, skipped images) rather than a loss."""
    return key.endswith(("_faces", "_faces_small", "_faces_cut")) or key in ("skipped_images", "faces")


def plot_losses(metrics: str | os.PathLike[str], path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A run's ``metrics.jsonl`` as a PNG: each loss term against steps on a log axis (raw line faint,
    smoothed line over it), and counters (faces per step, ...) on a panel of their own. Per-style terms
    (``style@NAME``) are left to the log file. Returns the plotted series, or None with nothing to plot."""
    records = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    keys = [k for k in dict.fromkeys(k for r in records for k in r) if k not in META_KEYS and "@" not in k]
    losses = {k: [(r["step"], r[k]) for r in records if isinstance(r.get(k), (int, float)) and r[k] > 0]
              for k in keys if not is_counter(k)}
    counters = {k: [(r["step"], r[k]) for r in records if isinstance(r.get(k), (int, float))]
                for k in keys if is_counter(k)}
    losses = {k: v for k, v in losses.items() if v}
    counters = {k: v for k, v in counters.items() if v and any(value for _, value in v)}
    if not losses:
        return None
    fig, axes = _figure(8, 5.5 if counters else 4, rows=2 if counters else 1,
                        gridspec_kw={"height_ratios": [3, 1]} if counters else None, sharex=True)
    ax = axes[0][0]
    data: dict[str, Any] = {"losses": {}, "smoothed": {}, "counters": {}}
    for i, (name, points) in enumerate(losses.items()):
        steps, values = [s for s, _ in points], [v for _, v in points]
        colour = f"C{i % 10}"
        ax.plot(steps, values, color=colour, alpha=0.3, linewidth=1)
        smoothed = _smooth_log(values)
        ax.plot(steps, smoothed, color=colour, linewidth=2, label=name)
        data["losses"][name], data["smoothed"][name] = (steps, values), (steps, smoothed)
    ax.set_yscale("log")
    ax.set_ylabel("weighted loss (log scale)")
    ax.set_title(f"{Path(metrics).parent.name}: losses (faint: logged means, bold: moving average)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    if counters:
        low = axes[1][0]
        for i, (name, points) in enumerate(counters.items()):
            steps, values = [s for s, _ in points], [v for _, v in points]
            low.plot(steps, values, color=f"C{(i + len(losses)) % 10}", label=name)
            data["counters"][name] = (steps, values)
        low.set_ylabel("per image")
        low.grid(True, alpha=0.3)
        low.legend(loc="upper right", fontsize="small")
    axes[-1][0].set_xlabel("step")
    _save(fig, path)
    return data


def plot_histogram(differences: Sequence[float], path: str | os.PathLike[str], *, model: str, baseline: str,
                   judge: str, bins: int = 20) -> dict[str, Any]:
    """Per-face identity distance of ``model`` minus ``baseline`` (the paper's Fig. 11): bars left of zero
    (green) are faces the model keeps better. Returns the counts and bin edges."""
    import numpy as np

    values = np.asarray(differences, dtype=float)
    limit = max(float(np.abs(values).max()) if len(values) else 0.0, 1e-6)
    edges = np.linspace(-limit, limit, bins + 1)
    counts, _ = np.histogram(values, bins=edges)
    fig, axes = _figure(7, 3.8)
    ax = axes[0][0]
    centres = (edges[:-1] + edges[1:]) / 2
    colours = ["#2ca02c" if c < 0 else "#d62728" for c in centres]
    bars = ax.bar(centres, counts, width=edges[1] - edges[0], color=colours, edgecolor="white")
    ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize="small")
    ax.axvline(0, color="black", linewidth=1)
    better, worse = int((values < 0).sum()), int((values > 0).sum())
    ax.set_title(f"{model} vs {baseline}, {judge}: kept better {better} of {len(values)}, worse {worse}")
    ax.set_xlabel(f"identity distance of {model} minus {baseline} ({judge}); < 0: kept better")
    ax.set_ylabel("faces")
    _save(fig, path)
    return {"counts": counts.tolist(), "edges": edges.tolist(), "better": better, "worse": worse}


def plot_distances(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], *, model: str, baseline: str,
                   judges: Sequence[str]) -> dict[str, tuple[list[float], list[float]]]:
    """One panel per judge: each face's identity distance under ``baseline`` (x) against ``model`` (y), with
    the diagonal marked; points below it are faces the model keeps better. Returns the plotted pairs."""
    fig, axes = _figure(4 * len(judges), 4, cols=len(judges))
    data = {}
    for ax, judge in zip(axes[0], judges):
        x = [float(r[f"{baseline}/{judge}"]) for r in rows]
        y = [float(r[f"{model}/{judge}"]) for r in rows]
        top = max(x + y + [1e-6]) * 1.05
        ax.scatter(x, y, s=14, alpha=0.7, color=["#2ca02c" if b < a else "#d62728" for a, b in zip(x, y)])
        ax.plot([0, top], [0, top], color="black", linewidth=1, linestyle="--", label="same distance")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
        ax.set_xlabel(f"{baseline}: identity distance")
        ax.set_ylabel(f"{model}: identity distance")
        below = sum(b < a for a, b in zip(x, y))
        ax.set_title(f"{judge}: {below} of {len(x)} below the diagonal")
        ax.legend(loc="upper left", fontsize="small")
        data[judge] = (x, y)
    _save(fig, path)
    return data


def plot_latency(latency: dict[str, dict[str, dict[str, float]]], path: str | os.PathLike[str], *,
                 title: str = "stylize latency") -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """Milliseconds against image side, one line per network and backend (``latency[network][side][backend]``
    as ``benchmarks/networks.py`` records it), both axes logarithmic. Returns the plotted lines."""
    fig, axes = _figure(7, 4.5)
    ax = axes[0][0]
    data: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    styles = ["-", "--", ":", "-."]
    for i, (network, by_side) in enumerate(latency.items()):
        backends = sorted({b for row in by_side.values() for b in row})
        for j, backend in enumerate(backends):
            sides = sorted(int(s) for s in by_side if backend in by_side[s])
            ms = [by_side[str(s)][backend] for s in sides]
            ax.plot(sides, ms, marker="o", color=f"C{i % 10}", linestyle=styles[j % len(styles)],
                    label=f"{network}, {backend}")
            data.setdefault(network, {})[backend] = (sides, ms)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted({s for lines in data.values() for sides, _ in lines.values() for s in sides})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("image side (px, square)")
    ax.set_ylabel("milliseconds per image")
    ax.set_title(title, fontsize="medium")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    _save(fig, path)
    return data
