"""Tiled stylizing against the whole-image run, and the network's FLOPs per image size.

    python benchmarks/tiling.py             # writes benchmarks/results/tiling.json

Tiling: a shipped model (``starry_night``) stylizes a 1024 x 768 photo (colosseum.jpg scaled up) whole, and
in 512 px tiles with 128 px overlap whose instance-norm statistics come from one pass over the image at full
size, half size and quarter size (``stats_side`` 1024, 512, 256): the tiles-to-whole differences, pixels in
[0, 1]. FLOPs: torch.utils.flop_counter over one forward pass of the default TransformerNet at 256, 512 and
1024 px.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.imageio import load_image, resize  # noqa: E402
from preserve.models.io import load_model  # noqa: E402
from preserve.models.transformer_net import TransformerNet  # noqa: E402
from preserve.styles import style_path  # noqa: E402
from preserve.tiling import stylize_tiled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tiling_differences() -> dict[str, dict[str, float]]:
    net = load_model(style_path("starry_night"))
    image = resize(load_image(ROOT / "examples" / "data" / "photos" / "colosseum.jpg").rgb, (768, 1024))
    with torch.no_grad():
        whole = net(image[None])[0]
    out = {}
    for label, side in (("full", 1024), ("half", 512), ("quarter", 256)):
        tiled = stylize_tiled(net, image, tile=512, overlap=128, stats_side=side)
        diff = (tiled.clamp(0, 1) - whole.clamp(0, 1)).abs()
        out[f"stats_at_{label}_size"] = {"stats_side": side, "mean_abs_diff": float(diff.mean()),
                                         "max_abs_diff": float(diff.max())}
    return out


def gflops() -> dict[str, float]:
    net = TransformerNet().eval()
    out = {}
    for side in (256, 512, 1024):
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            net(torch.rand(1, 3, side, side))
        out[str(side)] = counter.get_total_flops() / 1e9
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tiling.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    result = {"benchmark": "tiling", "machine": machine(), "model": "starry_night (shipped)",
              "photo": "colosseum.jpg scaled to 1024x768", "tile": 512, "overlap": 128,
              "tiled_vs_whole": tiling_differences(), "transformer_net_gflop": gflops()}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
