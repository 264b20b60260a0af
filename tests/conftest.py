"""Shared fixtures: the real photos and paintings that ship in examples/data, and the real VGG-19."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from helpers import PHOTOS


@pytest.fixture(autouse=True)
def _threads() -> None:
    # pytest-xdist runs one worker per core (pyproject's addopts): a worker with more than one torch thread would
    # fight the others for cores, so each takes one; a plain run (-n 0) keeps two
    torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


@pytest.fixture(scope="session")
def vgg19():
    from preserve import create_encoder

    return create_encoder("vgg19")


@pytest.fixture()
def photo_dir(tmp_path: Path) -> Path:
    """A few real photos in a nested folder, plus a corrupt file and a non-image."""
    d = tmp_path / "photos"
    (d / "nested").mkdir(parents=True)
    for name in ("astronaut.jpg", "coffee.jpg", "dog.jpg"):
        shutil.copy(PHOTOS / name, d / name)
    shutil.copy(PHOTOS / "colosseum.jpg", d / "nested" / "colosseum.jpg")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (d / "notes.txt").write_text("not an image")
    return d
