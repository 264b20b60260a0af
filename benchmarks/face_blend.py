"""Where does the ``-faces`` model's extra style loss lie: inside the faces, or all over the picture?

    python benchmarks/face_blend.py --out benchmarks/results/face_blend.json

For every shipped style, each held-out photo (every second one, as ``docs/make_results.py --every 2`` takes
them, at 384 px) is stylized by the plain model and by its ``-faces`` twin, and a third picture is made from
the two: the plain model's everywhere, the ``-faces`` model's inside a feathered ellipse over each face (the
blend mask of ``preserve stylize --face-zoom``). If the face terms cost style mainly by toning the whole
picture down, the blend keeps the plain model's style ratio; if the cost lies in the faces themselves, the
blend pays it as well. The faces kept better than by the plain model are counted for the ``-faces`` model and
the blend, by FaceNet and ArcFace. One run, one machine; style ratios as ``preserve evaluate`` computes them.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

from common import machine, write_result
from preserve.evaluate import load_named_model, prepare_photos, style_ratio
from preserve.facezoom import face_mask
from preserve.recipe import Recipe
from preserve.stylize import stylize_tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from make_results import DATA, INDEPENDENT, STYLES  # noqa: E402

MODELS = ("plain", "faces", "blend")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--styles", nargs="+", default=STYLES, choices=STYLES)
    parser.add_argument("--every", type=int, default=2, help="every Nth held-out photo, sorted by name")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "face_blend.json")
    args = parser.parse_args()
    photos = sorted((DATA / "eval").glob("*"))[::args.every]
    if not photos:
        parser.error(f"no held-out photos in {DATA / 'eval'}: run 'preserve data build {DATA}' first")
    prepared = prepare_photos(photos, size=args.size, judges=INDEPENDENT)
    styles_dir = ROOT / "preserve" / "styles"
    report = {"command": "python benchmarks/face_blend.py " + " ".join(sys.argv[1:]), "machine": machine(),
              "photos": len(prepared.items), "faces": sum(len(i["boxes"]) for i in prepared.items),
              "size": args.size, "styles": {}}
    for style in args.styles:
        nets = {"plain": load_named_model(styles_dir / "paintings.pt", style)[1],
                "faces": load_named_model(styles_dir / "paintings-faces.pt", style)[1]}
        recipe = Recipe(content=1.0, style={"image": str(ROOT / "examples" / "data" / "styles" / f"{style}.jpg"),
                                            "size": 512})
        photo_style, styled = [], {m: [] for m in MODELS}
        better = {(m, j): 0 for m in ("faces", "blend") for j in INDEPENDENT}
        for item in prepared.items:
            img, boxes = item["img"], item["boxes"]
            outs = {m: stylize_tensor(net, img) for m, net in nets.items()}
            mask = face_mask(boxes, *img.shape[-2:]) if len(boxes) else torch.zeros(1, *img.shape[-2:])
            outs["blend"] = outs["plain"] + mask * (outs["faces"] - outs["plain"])
            with torch.no_grad():
                photo_style.append(float(recipe(img[None], img[None]).raw["style"][0]))
                for m in MODELS:
                    styled[m].append(float(recipe(outs[m][None], img[None]).raw["style"][0]))
                if len(boxes):
                    index = torch.zeros(len(boxes), dtype=torch.long)
                    for j, embedder in prepared.embedders.items():
                        dist = {m: (embedder.crop_and_embed(outs[m][None], index, boxes, item["marks"])
                                    - item["refs"][j]).pow(2).sum(1) for m in MODELS}
                        for m in ("faces", "blend"):
                            better[(m, j)] += int((dist[m] < dist["plain"]).sum())
        ratios = {m: style_ratio(styled[m], photo_style) for m in MODELS}
        report["styles"][style] = {
            "style_ratio": ratios,
            "over_plain": {m: ratios[m] / ratios["plain"] for m in ("faces", "blend")},
            "kept_better": {f"{m}/{j}": n / max(1, report["faces"]) for (m, j), n in better.items()},
        }
        print(style, report["styles"][style], flush=True)
    over = {m: statistics.mean(s["over_plain"][m] for s in report["styles"].values()) for m in ("faces", "blend")}
    report["mean_over_plain"] = over
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
