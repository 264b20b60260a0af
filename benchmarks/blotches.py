"""Do the stage-2 blotches come with one-position spikes in front of the instance norms?

    python benchmarks/blotches.py preserve/styles/paintings.pt runs/zoo2-plain/checkpoints/step-1500.pt \
        runs/zoo2-faces/checkpoints/step-1500.pt --every 10     # writes benchmarks/results/blotches.json

The stage-2 zoo runs paint soft grey-green blotches into flat skies and walls, in the same places for
every style (docs/benchmarks.md). StyleGAN2 (Karras et al. 2020, section 2) traced blotches of this kind to
instance normalisation: the network plants one strong local feature that dominates a channel's mean and
variance, and so steers the normalisation of the whole image. Its signature is a feature map, just before
a normalisation, whose largest value lies tens of standard deviations from the channel's mean.

For each model (a model file or a training checkpoint), photo and style, this hooks the input of every
normalisation layer and records each channel's peak z-score, ``max |x - mean| / std`` over the positions.
``--grid OUT --grid-model MODEL ...`` also writes a picture that tells content from position, one row per
model: a photo stylized as it is, mirrored (and mirrored back), and with its top quarter cut off. A blotch that keeps its
place on the content through all three is made by the content, not by where it sits in the frame.

``--previews OUT RUN:STEP ...`` writes a picture of where blotches start instead: one column per run, cut
from the training preview that run wrote at that step (``RUN/previews/step_N.png``; ``--preview-column``
picks the preview photo, 1 the Eiffel tower of the zoo runs), one row per style::

    python benchmarks/blotches.py --previews docs/images/zoo_stage2_blotch_origin.jpg \
        runs/zoo-plain:800 runs/zoo2-plain:100 runs/origin-lr3e-4-sw0.5:100 runs/origin-lr1e-4-sw1.0:100

It reports, per layer, the median and the largest over photos and styles of the largest channel's peak,
and the share of channels whose peak is over 20 (a Gaussian map of 64 x 64 positions peaks near 4). Compare
models within one run of the script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.imageio import find_images, fit_size, load_image, resize  # noqa: E402
from preserve.stylize import load_model, stylize_tensor  # noqa: E402
from preserve.visual import LABEL_WIDTH, save_grid  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPIKE = 20.0  # a channel whose peak lies this many standard deviations out is a spike


def peak_z(x: torch.Tensor) -> torch.Tensor:
    """Each channel's largest distance from its mean, in its standard deviations: (B, C)."""
    x = x.float().flatten(2)
    mean, std = x.mean(-1, keepdim=True), x.std(-1, keepdim=True).clamp_min(1e-6)
    return ((x - mean).abs() / std).amax(-1)


def measure(model_file: Path, images: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Per normalisation layer: the median largest-channel peak and the share of spiking channels."""
    net = load_model(model_file).eval()  # float32, from a model file or a training checkpoint alike
    peaks: dict[str, list[float]] = {}
    shares: dict[str, list[float]] = {}

    def hook(name: str):
        def record(_module, inputs):
            z = peak_z(inputs[0])
            peaks.setdefault(name, []).append(float(z.amax()))
            shares.setdefault(name, []).append(float((z > SPIKE).float().mean()))
        return record

    for name, module in net.named_modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            module.register_forward_pre_hook(hook(name))
    with torch.no_grad():
        for img in images.values():
            for style in net.style_names:
                net.set_style(style)
                net(img[None])
    out: dict[str, dict[str, float]] = {}
    for key in peaks:
        out[key] = {"median_peak_z": statistics.median(peaks[key]), "max_peak_z": max(peaks[key]),
                    "spiking_channel_share": statistics.mean(shares[key])}
    return out


def label(model_file: Path) -> str:
    """A short name: the run folder of a model.pt, run/step of a checkpoint, else the file's stem."""
    if model_file.name == "model.pt":
        return model_file.parent.name
    if model_file.parent.name == "checkpoints":
        return f"{model_file.parent.parent.name}/{model_file.stem}"
    return model_file.stem


def position_grid(model_files: list[Path], photo: Path, style: str, out: Path, size: int = 320) -> None:
    """Per model: the photo, then stylized as it is, mirrored and mirrored back, and with its top quarter cut
    off."""
    img = load_image(photo, max_side=size).rgb
    img = resize(img, fit_size(tuple(img.shape[-2:]), size))
    cut = img.shape[-2] // 4
    rows = []
    for model_file in model_files:
        net = load_model(model_file).set_style(style)
        shifted = torch.ones_like(img)
        shifted[:, cut:] = stylize_tensor(net, img[:, cut:])
        rows.append([img, stylize_tensor(net, img), stylize_tensor(net, img.flip(-1)).flip(-1), shifted])
    save_grid(rows, out, row_labels=[label(m) for m in model_files] if len(model_files) > 1 else None,
              col_labels=["photo", "stylized", "mirrored, stylized, mirrored back", "top quarter cut off"],
              cell=size)


def preview_cells(preview: Path, column: int, cell: int, pad: int = 4) -> list[torch.Tensor]:
    """The images of one column of a training preview (content, then one per style), as the trainer's
    :func:`~preserve.visual.save_grid` laid them out: square ``cell``-px cells after its row-label column."""
    grid = load_image(preview).rgb
    left = LABEL_WIDTH + pad + column * (cell + pad)
    rows = (grid.shape[-2] - pad) // (cell + pad)
    return [grid[:, pad + r * (cell + pad):pad + r * (cell + pad) + cell, left:left + cell] for r in range(rows)]


def preview_grid(runs: list[str], out: Path, column: int, cell: int = 256, shown: int = 192) -> Path:
    """One column per ``RUN:STEP``, cut from that run's preview at that step (``cell`` px, shown at ``shown``);
    rows: content, then each style."""
    columns, labels = [], []
    for spec in runs:
        run, step = spec.rsplit(":", 1)
        columns.append(preview_cells(Path(run) / "previews" / f"step_{int(step):07d}.png", column, cell))
        labels.append(f"{Path(run).name} @{step}")
    names = ["content", *json.loads((Path(runs[0].rsplit(":", 1)[0]) / "config.json").read_text())["recipe"]
             ["style"]["image"]]
    rows = [[col[r] for col in columns] for r in range(min(len(c) for c in columns))]
    return save_grid(rows, out, row_labels=[Path(n).stem[:14] for n in names][:len(rows)], col_labels=labels,
                     cell=shown)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="model files or training checkpoints")
    parser.add_argument("--photos", type=Path, default=ROOT / "runs" / "zoo-data" / "eval")
    parser.add_argument("--every", type=int, default=7, help="every Nth photo, sorted by name")
    parser.add_argument("--size", type=int, default=256, help="longer side of the photos")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "blotches.json")
    parser.add_argument("--grid", type=Path, help="also write the content-or-position picture here")
    parser.add_argument("--grid-model", type=Path, nargs="+",
                        help="the models of the picture, one row each (default: the last one given)")
    parser.add_argument("--grid-photo", type=Path,
                        default=ROOT / "runs" / "zoo-data" / "eval" / "gcompris_explore_monuments_eiffelTower.jpg")
    parser.add_argument("--grid-style", default="the_scream")
    parser.add_argument("--previews", type=Path, metavar="OUT",
                        help="write the training-preview picture of the runs given as RUN:STEP, and stop")
    parser.add_argument("--preview-column", type=int, default=1)
    args = parser.parse_args()
    if args.previews:
        preview_grid([str(m) for m in args.models], args.previews, args.preview_column)
        return 0
    if args.grid:
        position_grid(args.grid_model or args.models[-1:], args.grid_photo, args.grid_style, args.grid)
    images = {}
    for path in sorted(find_images([str(args.photos)]))[::args.every]:
        img = load_image(path, max_side=args.size).rgb
        images[Path(path).name] = resize(img, fit_size(tuple(img.shape[-2:]), args.size))
    result = {"machine": machine(), "photos": sorted(images), "size": args.size,
              "spike_threshold_z": SPIKE, "models": {}}
    for model in args.models:
        print(f"measuring {model}", flush=True)
        result["models"][str(model)] = measure(model, images)
    write_result(args.out, result)
    models = list(result["models"])
    print("layer: median / largest peak z per model, in the order given")
    for layer in result["models"][models[0]]:
        print(f"  {layer:24s}" + "".join(f"  {result['models'][m][layer]['median_peak_z']:5.1f} / "
                                         f"{result['models'][m][layer]['max_peak_z']:5.1f}" for m in models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
