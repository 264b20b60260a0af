"""save_grid: the labelled grids the docs and previews are made of."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from preserve.visual import LABEL_HEIGHT, LABEL_WIDTH, save_grid


def _inked_rows(path) -> np.ndarray:
    """Indices of the pixel rows of the row-label column that hold any dark (text) pixel."""
    labels = np.asarray(Image.open(path).convert("L"))[:, :LABEL_WIDTH]
    return np.flatnonzero((labels < 128).any(axis=1))


def test_grid_has_a_cell_per_image_and_room_for_labels(tmp_path):
    rows = [[torch.rand(3, 20, 30), torch.rand(3, 30, 20)], [torch.rand(3, 10, 10)]]
    out = save_grid(rows, tmp_path / "g.png", row_labels=["a", "b"], col_labels=["x", "y"], cell=32, pad=4)
    assert Image.open(out).size == (LABEL_WIDTH + 2 * 36 + 4, LABEL_HEIGHT + 2 * 36 + 4)


def test_a_row_label_may_hold_several_lines(tmp_path):
    image = [torch.ones(3, 128, 128)]

    def inked(label: str, name: str) -> np.ndarray:
        return _inked_rows(save_grid([image], tmp_path / name, row_labels=[label], cell=128))

    one, two = inked("moulin_de_la_galette", "one.png"), inked("moulin_de_la_galette\nstep 1200", "two.png")
    assert one.size and two.max() - two.min() > one.max() - one.min() + 6  # a second line below the first
    assert np.array_equal(inked("a\nb\nc\nd\ne", "five.png"), inked("a\nb\nc\nd", "four.png"))  # four at most
    centre = 4 + 128 // 2  # no column labels: the row starts after the padding
    assert abs((two.min() + two.max()) / 2 - centre) < 8  # the lines are centred on the row


def test_the_label_column_widens_for_a_long_label(tmp_path):
    image = [torch.ones(3, 32, 32)]
    short = Image.open(save_grid([image], tmp_path / "s.png", row_labels=["a"], cell=32)).size[0]
    long = Image.open(save_grid([image], tmp_path / "l.png", row_labels=["moulin_de_la_galette x"], cell=32)).size[0]
    assert short == LABEL_WIDTH + 32 + 8 and long > short
    inked = np.asarray(Image.open(tmp_path / "l.png").convert("L"))[:, long - 32 - 8:]
    assert inked.min() > 200  # the label stays in its column: the picture's side is white padding and picture
