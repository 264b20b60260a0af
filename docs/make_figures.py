"""Regenerates the pictures in docs/images that show what each plugin does.

Each figure optimises the same shipped photo against a recipe without and with
one plugin (optimisation mode, so no trained model is needed) and writes a
labelled grid. Run from the repository root:

    python docs/make_figures.py [--steps 80] [--size 256] [--only face_tone ...]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from preserve import Recipe
from preserve.faces.index import face_index
from preserve.imageio import load_image
from preserve.optimize import optimize_file
from preserve.visual import save_grid

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples/data/photos/grace_hopper.jpg"
STYLE = ROOT / "examples/data/styles/starry_night.jpg"
OUT = ROOT / "docs/images"
BASE = {"content": 1.0, "style": {"weight": 20.0, "image": str(STYLE), "size": 256}, "tv": 3.0e4}
VARIANTS = {
    "face": {"face": {"weight": 1.0e6}},
    "color": {"color": {"weight": 3.0e7}},
    "mask": {"mask": {"weight": 10.0}},
    "face_tone": {"face_tone": {"weight": 1000.0}},
}


def face_mask(photo: Path, out: Path) -> None:
    """A soft ellipse over the detected face: white protects it from the style."""
    faces = face_index().detect_file(photo)
    img = Image.open(photo)
    mask = Image.new("L", img.size, 0)
    x1, y1, x2, y2 = faces.boxes[0].tolist()
    pad = 0.25 * (x2 - x1)
    ImageDraw.Draw(mask).ellipse([x1 - pad, y1 - pad, x2 + pad, y2 + pad], fill=255)
    mask.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="redo only these plugins' pictures")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / PHOTO.name
        shutil.copy(PHOTO, photo)
        face_mask(photo, photo.with_name(photo.stem + ".mask.png"))
        original = load_image(photo, max_side=args.size).rgb
        plain, _ = optimize_file(Recipe(**BASE), photo, size=args.size, steps=args.steps)
        for name, extra in VARIANTS.items():
            if args.only and name not in args.only:
                continue
            with_plugin, history = optimize_file(Recipe(**BASE, **extra), photo, size=args.size, steps=args.steps)
            path = save_grid([[original, plain, with_plugin]], OUT / f"plugin_{name}.png",
                             col_labels=["photo", "content + style + tv", f"+ {name}"])
            print(f"{path}: loss {history[0]:.4g} -> {history[-1]:.4g}")
        mask = np.asarray(Image.open(photo.with_name(photo.stem + ".mask.png")).convert("L"), np.float32) / 255
        save_grid([[original, torch.from_numpy(mask)[None].expand(3, -1, -1)]], OUT / "plugin_mask_input.png",
                  col_labels=["photo", "grace_hopper.mask.png"])


if __name__ == "__main__":
    main()
