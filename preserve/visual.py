"""Pictures people look at: labelled image grids (before/after, previews)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image, ImageDraw

from .atomic import atomic_write
from .imageio import to_pil

LABEL_HEIGHT = 18


def save_grid(
    rows: Sequence[Sequence[torch.Tensor]],
    path: str | os.PathLike[str],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    cell: int | None = None,
    pad: int = 4,
) -> Path:
    """Write a PNG grid of ``(3, H, W)`` tensors, each scaled to fit a ``cell`` square.

    ``cell`` defaults to the largest image side, capped at 384 pixels.
    """
    if cell is None:
        cell = min(384, max((max(img.shape[-2:]) for row in rows for img in row), default=256))
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    label_w = 90 if row_labels else 0
    top = LABEL_HEIGHT if col_labels else 0
    width = label_w + n_cols * (cell + pad) + pad
    height = top + n_rows * (cell + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(col_labels or []):
        draw.text((label_w + pad + c * (cell + pad), 3), str(label)[:40], fill=(0, 0, 0))
    for r, row in enumerate(rows):
        y = top + pad + r * (cell + pad)
        if row_labels and r < len(row_labels):
            draw.text((4, y + cell // 2 - 6), str(row_labels[r])[:14], fill=(0, 0, 0))
        for c, img in enumerate(row):
            pil = to_pil(img)
            pil.thumbnail((cell, cell), Image.Resampling.LANCZOS)
            x = label_w + pad + c * (cell + pad)
            canvas.paste(pil, (x + (cell - pil.width) // 2, y + (cell - pil.height) // 2))
    return atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))


PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def plot_losses(metrics: str | os.PathLike[str], path: str | os.PathLike[str], size: tuple[int, int] = (720, 360)) -> Path | None:
    """Draw each term of a ``metrics.jsonl`` against steps, log scale, as a PNG (no plotting library needed)."""
    import json
    import math

    records = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    skip = {"step", "epoch", "images_per_s", "s_per_step", "skipped_images", "faces"}
    terms = [k for k in records[0] if k not in skip] if records else []
    series = {k: [(r["step"], r[k]) for r in records if isinstance(r.get(k), (int, float)) and r[k] > 0] for k in terms}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    w, h = size
    left, right, top, bottom = 70, 110, 20, 40
    steps = [s for pts in series.values() for s, _ in pts]
    logs = [math.log10(v) for pts in series.values() for _, v in pts]
    s0, s1 = min(steps), max(max(steps), min(steps) + 1)
    l0, l1 = math.floor(min(logs)), math.ceil(max(logs))
    l1 = max(l1, l0 + 1)
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)

    def xy(step: float, value: float) -> tuple[float, float]:
        x = left + (step - s0) / (s1 - s0) * (w - left - right)
        y = top + (l1 - math.log10(value)) / (l1 - l0) * (h - top - bottom)
        return x, y

    for decade in range(l0, l1 + 1):
        _, y = xy(s0, 10.0**decade)
        draw.line([(left, y), (w - right, y)], fill=(225, 225, 225))
        draw.text((8, y - 6), f"1e{decade}", fill=(80, 80, 80))
    draw.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    draw.text((left, h - bottom + 8), f"step {s0}", fill=(0, 0, 0))
    draw.text((w - right - 60, h - bottom + 8), f"step {s1}", fill=(0, 0, 0))
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        if len(pts) > 1:
            draw.line([xy(s, v) for s, v in pts], fill=color, width=2)
        draw.text((w - right + 10, top + 16 * i), name, fill=color)
    return atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))
