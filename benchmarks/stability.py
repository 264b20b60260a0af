"""Does the stability plugin cut flicker? A trained comparison at equal steps.

    python benchmarks/stability.py --steps 100      # after benchmarks/model_zoo.py

The plain zoo run (``runs/zoo-plain``) is branched at its last checkpoint twice, for the same steps on the
same batches: once as it was, once with the ``stability`` term added (``--weight``). Both branches are then
measured for one style (``--style``, default great_wave): the warping error on the synthetic clips of
``preserve.flicker`` (pan, zoom, rotate), the style ratio and content loss on held-out photos, and the mean
FaceNet identity distance on their faces (``preserve evaluate``). Runs go to runs/stability-{off,on} and
resume. Writes benchmarks/results/stability.json; ``python benchmarks/flicker.py`` shows it in docs/video.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.evaluate import evaluate  # noqa: E402
from preserve.flicker import MOTIONS, synthetic_clip, warping_error  # noqa: E402
from preserve.imageio import load_image, resize  # noqa: E402
from preserve.stylize import for_inference, load_model, stylize_tensor  # noqa: E402
from preserve.train import Trainer, load_config, read_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"


def branch(name: str, weight: float, steps: int) -> tuple[Path, int]:
    """Train ``runs/stability-NAME`` from the plain zoo run's branch point; returns its model and start step."""
    out = RUNS / f"stability-{name}"
    point = RUNS / "stability-branch-point.pt"
    if not point.is_file():
        shutil.copyfile(RUNS / "zoo-plain" / "checkpoints" / "last.pt", point)
    start = int(read_checkpoint(point, "--init")["step"])
    recipe = json.loads(json.dumps(load_config(RUNS / "zoo-plain").recipe))
    if weight:
        recipe["stability"] = {"weight": weight}
    config = dataclasses.replace(load_config(RUNS / "zoo-plain"), out=str(out), init=str(point), recipe=recipe,
                                 steps=start + steps, keep_every=None, progress=False, checkpoint_every=25)
    if not (out / "model.pt").is_file():
        Trainer(config, resume=(out / "checkpoints" / "last.pt").is_file(), device="cpu").fit()
    return out / "model.pt", start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--weight", type=float, default=2e6, help="weight of the stability term")
    parser.add_argument("--style", default="great_wave")
    parser.add_argument("--photos", type=int, default=20, help="held-out photos for style ratio and faces")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "stability.json"))
    args = parser.parse_args()
    models = {}
    for name, weight in (("off", 0.0), ("on", args.weight)):
        models[name], start = branch(name, weight, args.steps)
    photo = resize(load_image(ROOT / "examples" / "data" / "photos" / "colosseum.jpg").rgb, (410, 410))
    warp_errors: dict[str, dict[str, float]] = {}
    for kind in MOTIONS:
        frames, step = synthetic_clip(photo, kind, 16, 256, noise=0.01)
        warp_errors[kind] = {"source": warping_error(frames, step)}
        for name, path in models.items():
            net = for_inference(load_model(path).set_style(args.style))
            warp_errors[kind][name] = warping_error([stylize_tensor(net, f) for f in frames], step)
    held_out = sorted((RUNS / "zoo-data" / "eval").iterdir())[:args.photos]
    with tempfile.TemporaryDirectory() as tmp:
        summary = evaluate([str(models["off"]), str(models["on"])], [str(p) for p in held_out], Path(tmp),
                           style=str(ROOT / "examples" / "data" / "styles" / f"{args.style}.jpg"), size=384,
                           judges=("facenet",), style_name=args.style)
    off, on = summary["models"]["stability-off"], summary["models"]["stability-on"]
    mean_ratio = sum(warp_errors[k]["on"] / warp_errors[k]["off"] for k in MOTIONS) / len(MOTIONS)
    result = {"benchmark": "stability", "machine": machine(), "branch_step": start, "steps": args.steps,
              "weight": args.weight, "style": args.style, "warping_error": warp_errors,
              "warping_error_on_over_off": mean_ratio,
              "style_ratio": {"off": off["style_ratio"], "on": on["style_ratio"]},
              "content_loss": {"off": off["content_loss_mean"], "on": on["content_loss_mean"]},
              "facenet_distance_mean": {"off": off["facenet"]["mean"], "on": on["facenet"]["mean"]},
              "faces": summary["faces"],
              "goal": {"warping_error_on_over_off": "<= 0.5", "style_ratio_on_over_off": "within 10 %",
                       "facenet_distance": "not worse on average"},
              "met": {"warping_error": mean_ratio <= 0.5,
                      "style_ratio": abs(on["style_ratio"] / off["style_ratio"] - 1) <= 0.10,
                      "faces": on["facenet"]["mean"] <= off["facenet"]["mean"]}}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
