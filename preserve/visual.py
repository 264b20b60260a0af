"""Pictures people look at: labelled image grids (before/after, previews). Plots are in :mod:`preserve.plots`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

from .atomic import atomic_write
from .imageio import to_pil

LABEL_HEIGHT = 18
LABEL_WIDTH = 90  # the narrowest row-label column of save_grid, when there are row labels
LINE_HEIGHT = 12  # a row label may hold up to four lines ("\n")
LABEL_CHARS = 32  # each line of a row label is cut to this many characters


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

    ``cell`` defaults to the largest image side, capped at 384 pixels. A row label may hold up to four
    lines, separated by ``"\n"``; the label column is as wide as the longest line needs.
    """
    if cell is None:
        cell = min(384, max((max(img.shape[-2:]) for row in rows for img in row), default=256))
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    label_lines = [[line[:LABEL_CHARS] for line in str(label).split("\n")[:4]] for label in row_labels or []]
    font = ImageFont.load_default()
    longest = max((font.getlength(line) for lines in label_lines for line in lines), default=0)
    label_w = max(LABEL_WIDTH, 8 + int(longest)) if row_labels else 0
    top = LABEL_HEIGHT if col_labels else 0
    width = label_w + n_cols * (cell + pad) + pad
    height = top + n_rows * (cell + pad) + pad
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(col_labels or []):
        draw.text((label_w + pad + c * (cell + pad), 3), str(label)[:40], fill=(0, 0, 0))
    for r, row in enumerate(rows):
        y = top + pad + r * (cell + pad)
        lines = label_lines[r] if r < len(label_lines) else []
        for i, line in enumerate(lines):
            draw.text((4, y + cell // 2 - 6 + LINE_HEIGHT * i - LINE_HEIGHT * (len(lines) - 1) // 2), line,
                      font=font, fill=(0, 0, 0))
        for c, img in enumerate(row):
            pil = to_pil(img)
            pil.thumbnail((cell, cell), Image.Resampling.LANCZOS)
            x = label_w + pad + c * (cell + pad)
            canvas.paste(pil, (x + (cell - pil.width) // 2, y + (cell - pil.height) // 2))
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    return atomic_write(path, lambda tmp: canvas.save(tmp, format=fmt, **({"quality": 90} if fmt == "JPEG" else {})))
