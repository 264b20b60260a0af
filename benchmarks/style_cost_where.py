"""Where does a ``-faces`` model lose style: only on photos with faces, or everywhere?

    python benchmarks/style_cost_where.py                       # the shipped zoo, from docs/results
    python benchmarks/style_cost_where.py --out benchmarks/results/style_cost_where.json

Reads the per-photo style losses ``docs/make_results.py`` wrote (``docs/results/STYLE_photos.csv``) and, per
style, splits the held-out photos into those with a detected face and those without. For each group it gives
the style ratio of the plain and the ``-faces`` model (summed style loss over summed style loss of the photos
themselves) and ``-faces`` / plain. If the face terms only kept face regions unstylized, ``-faces`` / plain would
sit near 1 on the photos without a face; a ratio as high there as on the faces group says the face terms made
that style weaker everywhere. Evaluates nothing.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from make_results import STYLES, TABLES  # noqa: E402


def split(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Style ratios of both models over the photos with faces and over those without."""
    out = {}
    for group, has_faces in (("with faces", True), ("without faces", False)):
        chosen = [r for r in rows if (int(r["faces"]) > 0) == has_faces]
        if not chosen:
            continue
        photo = sum(float(r["photo/style"]) for r in chosen)
        plain = sum(float(r["plain/style"]) for r in chosen) / photo
        faces = sum(float(r["faces/style"]) for r in chosen) / photo
        out[group] = {"photos": len(chosen), "plain": plain, "faces": faces, "faces_over_plain": faces / plain}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", type=Path, default=TABLES, help="where the STYLE_photos.csv files are")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = parser.parse_args()
    result = {}
    print("| style | photos with faces: plain / `-faces` (÷) | photos without: plain / `-faces` (÷) |")
    print("|---|---|---|")
    for style in STYLES:
        with open(args.tables / f"{style}_photos.csv", newline="") as f:
            result[style] = split(list(csv.DictReader(f)))
        cells = [f"{g['plain']:.3f} / {g['faces']:.3f} ({g['faces_over_plain']:.2f}, {g['photos']} photos)"
                 if g else "-" for g in (result[style].get("with faces"), result[style].get("without faces"))]
        print(f"| {style} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
