"""Training-step time: our trainer against a plain fp32 loop written as pytorch/examples' fast_neural_style does.

Both train a TransformerNet at batch 4 on 256 px crops of the shipped photos
against content (relu2_2) + style (relu1_2, relu2_2, relu3_3, relu4_3) + TV
on the same VGG-19 loss network, in the same process, alternating rounds.

The reference does what pytorch/examples does: fp32, contiguous tensors, the
loss network run on the stylized batch and again on the content batch with
autograd recording (no ``no_grad``), style Grams of the style image computed
once, mean-squared-error losses. Ours: bf16 autocast (fp32 Grams and
reductions), channels_last, content features under ``no_grad`` and only up to
the layer the content term reads, cached style targets.

``--levers`` also times ours with one lever off at a time (fp32 instead of
bf16 autocast; contiguous instead of channels_last), so the levers table in
docs/benchmarks.md comes from the same run.

Peak resident memory of each configuration is measured in a child process
that builds only that configuration (the reference child reads its batches
from the dataset, not through our Trainer).

    python benchmarks/train_step.py [--steps 6] [--rounds 2] [--compile] [--levers]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from common import machine
import torch.nn.functional as F

from preserve.data import ImageFolder
from preserve.functional import gram_matrix
from preserve.models.transformer_net import TransformerNet
from preserve.recipe import Recipe
from preserve.recipe import default_recipe
from preserve.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
STYLE = ROOT / "examples/data/styles/starry_night.jpg"
PHOTOS = ROOT / "examples/data/photos"
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def ours(args: argparse.Namespace, compile: bool = False, bf16: bool | None = None,
         channels_last: bool = True) -> Trainer:
    config = TrainConfig(data=[str(PHOTOS)], out=f"/tmp/preserve-bench-train-{compile}-{bf16}-{channels_last}",
                         recipe=default_recipe(str(STYLE)), image_size=args.image_size, batch_size=args.batch_size,
                         steps=10**6, workers=0, progress=False, compile=compile, bf16=bf16,
                         channels_last=channels_last)
    return Trainer(config, overwrite=True, device="cpu")


def batches(args: argparse.Namespace, n: int) -> list[torch.Tensor]:
    """The first ``n`` batches of random crops of the shipped photos (seed 0), read from the dataset directly."""
    data = ImageFolder(str(PHOTOS), args.image_size, seed=0)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).tolist()
    crops = [data[(i, 0)].image for i in (order * (1 + n * args.batch_size // len(order)))[:n * args.batch_size]]
    return [torch.stack(crops[k:k + args.batch_size]) for k in range(0, len(crops), args.batch_size)]


class ReferenceLoop:
    """The pytorch/examples training step, on the same loss network and weights as ours."""

    def __init__(self) -> None:
        recipe = Recipe.from_dict(default_recipe(str(STYLE)))
        torch.manual_seed(0)
        self.net = TransformerNet()
        self.opt = torch.optim.Adam(self.net.parameters(), 1e-3)
        self.vgg = recipe.encoder
        self.weights = recipe.weights
        self.style_grams = {k: getattr(recipe.plugins["style"], f"target_{i}") for i, k in enumerate(STYLE_LAYERS)}

    def step(self, x: torch.Tensor) -> float:
        self.opt.zero_grad()
        y = self.net(x)
        features_y = self.vgg(y, STYLE_LAYERS)
        features_x = self.vgg(x, STYLE_LAYERS)  # as in pytorch/examples: all layers, autograd recording
        content = F.mse_loss(features_y["relu2_2"], features_x["relu2_2"])
        style = sum(F.mse_loss(gram_matrix(features_y[k]), self.style_grams[k].expand(x.shape[0], -1, -1))
                    for k in STYLE_LAYERS)
        tv = (y[..., 1:, :] - y[..., :-1, :]).abs().mean() + (y[..., :, 1:] - y[..., :, :-1]).abs().mean()
        total = self.weights["content"] * content + self.weights["style"] * style + self.weights["tv"] * tv
        total.backward()
        self.opt.step()
        return float(total.detach())


def time_steps(step, batches: list, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        step(batches[i % len(batches)])
        out.append(time.perf_counter() - t0)
    return out


def peak_rss(which: str, args: argparse.Namespace) -> float:
    """Peak RSS (GiB) of a child process that sets up and runs a few steps of one configuration only."""
    cmd = [sys.executable, __file__, "--measure-rss", which, "--steps", "3", "--image-size", str(args.image_size),
           "--batch-size", str(args.batch_size)]
    return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--compile", action="store_true", help="also time ours with --compile (adds ~1 min)")
    parser.add_argument("--levers", action="store_true", help="also time ours with bf16 off, and channels_last off")
    parser.add_argument("--measure-rss", choices=["ours", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/train_step.json"))
    args = parser.parse_args()

    if args.measure_rss:
        step = ours(args).train_step if args.measure_rss == "ours" else ReferenceLoop().step
        time_steps(step, batches(args, args.steps), args.steps)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
        return
    configs = {"reference": ReferenceLoop().step, "ours": ours(args).train_step}
    if args.compile:
        configs["ours_compiled"] = ours(args, compile=True).train_step
    if args.levers:
        configs["ours_fp32"] = ours(args, bf16=False).train_step
        configs["ours_contiguous"] = ours(args, channels_last=False).train_step
    images = batches(args, args.steps)
    for step in configs.values():
        time_steps(step, images, 1)  # warm-up (and compilation)
    samples: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(args.rounds):
        for name, step in configs.items():
            samples[name] += time_steps(step, images, args.steps)
    med = {k: statistics.median(v) for k, v in samples.items()}
    rss = {k: peak_rss(k, args) for k in ("ours", "reference")}
    ratios = {k: v / med["reference"] for k, v in med.items() if k != "reference"}
    result = {
        "benchmark": "train_step",
        "machine": machine(),
        "torch": torch.__version__, "batch_size": args.batch_size, "image_size": args.image_size,
        "median_s_per_step": med, "ratio_over_reference": ratios,
        "peak_rss_gib": rss, "samples": samples,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print("  ".join(f"{k} {v:.3f} s/step" for k, v in med.items()))
    print("ratio over reference: " + "  ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    print(f"peak RSS: ours {rss['ours']:.2f} GiB, reference {rss['reference']:.2f} GiB -> {out}")


if __name__ == "__main__":
    main()
