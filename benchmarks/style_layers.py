"""Where a model's style loss is left: the style ratio split over the loss network's layers.

    python benchmarks/style_layers.py preserve/styles/paintings.pt runs/gpu/plain-a-5200.pt \
        --out benchmarks/results/style_layers.json

The style ratio (``preserve evaluate``) is the mean style loss of the stylized photos over that of the same
photos unstylized, with the zoo's style term: Gram matrices at relu1_2, relu2_2, relu3_3 and relu4_3 of
VGG-19, the painting scaled to 512 px. This splits both sums by layer. For each model (a multi-style model
file or training checkpoint) and style, on every ``--every``-th held-out photo at ``--size`` px, it reports
each layer's share of the photos' style loss (the photos' shares sum to 1) and of the stylized photos'
(summing to the style ratio), so that a lever can aim at the layer where the loss is left.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from common import machine, write_result

from preserve.encoders.vgg import vgg19
from preserve.functional import gram_matrix, per_sample_mse
from preserve.imageio import find_images, load_image
from preserve.stylize import load_model, stylize_tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from model_zoo import DATA, STYLE_DIR, STYLES  # noqa: E402

LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # the style term's defaults (plugins/style.py)


def grams(encoder: torch.nn.Module, image: torch.Tensor) -> list[torch.Tensor]:
    """The Gram matrix of each of :data:`LAYERS` for one ``(3, H, W)`` image."""
    with torch.no_grad():
        features = encoder(image[None], LAYERS)
    return [gram_matrix(features[layer]) for layer in LAYERS]


def layer_losses(encoder: torch.nn.Module, image: torch.Tensor, target: list[torch.Tensor]) -> torch.Tensor:
    """The style term's per-layer losses (the mean squared Gram difference) of one image: ``(len(LAYERS),)``."""
    return torch.stack([per_sample_mse(g, t)[0] for g, t in zip(grams(encoder, image), target)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="multi-style model files or training checkpoints")
    parser.add_argument("--every", type=int, default=7, help="every Nth held-out photo, sorted by name")
    parser.add_argument("--size", type=int, default=384, help="longer side of the photos")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "style_layers.json")
    args = parser.parse_args()
    encoder = vgg19().eval()
    photos = sorted(find_images([str(DATA / "eval")]))[::args.every]
    images = [load_image(p, max_side=args.size).rgb for p in photos]
    nets = {str(m): load_model(m).eval() for m in args.models}
    result: dict = {"command": "python benchmarks/style_layers.py " + " ".join(sys.argv[1:]), "machine": machine(),
                    "photos": [Path(p).name for p in photos], "size": args.size, "layers": list(LAYERS),
                    "styles": {}}
    for style in STYLES:
        target = grams(encoder, load_image(STYLE_DIR / f"{style}.jpg", max_side=512).rgb)
        photo = torch.stack([layer_losses(encoder, img, target) for img in images]).mean(0)
        entry = {"photo_shares": [round(float(v), 4) for v in photo / photo.sum()], "models": {}}
        for name, net in nets.items():
            net.set_style(style)
            stylized = torch.stack([layer_losses(encoder, stylize_tensor(net, img), target) for img in images]).mean(0)
            shares = stylized / photo.sum()
            entry["models"][name] = {"style_ratio": round(float(shares.sum()), 4),
                                     "shares": [round(float(v), 4) for v in shares]}
            print(style, name, entry["models"][name], flush=True)
        result["styles"][style] = entry
    worst = {name: max(result["styles"][s]["models"][name]["style_ratio"] for s in STYLES) for name in nets}
    result["worst_style_ratio"] = worst
    result["mean_shares"] = {name: [round(sum(result["styles"][s]["models"][name]["shares"][k] for s in STYLES)
                                          / len(STYLES), 4) for k in range(len(LAYERS))] for name in nets}
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
