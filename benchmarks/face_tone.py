"""Does the face_tone term help a -faces network that has it from the first step? A pair of short runs.

    OMP_NUM_THREADS=1 nohup python benchmarks/face_tone.py --run off > runs/logs/tone-off.log 2>&1 &
    OMP_NUM_THREADS=1 nohup python benchmarks/face_tone.py --run on > runs/logs/tone-on.log 2>&1 &
    python benchmarks/face_tone.py --evaluate        # writes benchmarks/results/face_tone_pair.json
    python benchmarks/face_tone.py --grid            # face crops of both: docs/images/face_tone_pair.jpg

Both runs train the zoo's network (``johnson-multi``) on the zoo's training photos from the zoo's stage-1 start
(the retired one-style model, see benchmarks/model_zoo.py), at stage 1's settings, with the face term at the
zoo's weight, in the two styles whose faces the shipped ``-faces`` model shifted most in colour
(woman_with_fan, cafe_terrace). They share data, seed, batches and steps and differ only in ``face_tone``
(weight 30), which the ``on`` run has from its first step. Each run checkpoints every 50 steps and resumes.

The evaluation judges both on the faces of the ``tune`` split (never the evaluation set): the share of faces
each independent judge finds better kept by ``on`` than by ``off``, the face colour shift (ΔE*ab) of each, and
the style ratio of ``on`` over ``off``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402
from model_zoo import (DATA, FACE_WEIGHT, LR, NETWORK, NORM_LR, RUNS, STYLE_DIR, STYLE_WEIGHT, TONE_WEIGHT,  # noqa: E402
                       WARM_START, from_git)

ROOT = Path(__file__).resolve().parents[1]
STYLES = ["woman_with_fan", "cafe_terrace"]
JUDGES = ("facenet", "insightface")


def run_folder(run: str) -> Path:
    return RUNS / f"tone-{run}"


def train(run: str, steps: int) -> int:
    out = run_folder(run)
    base = [sys.executable, "-m", "preserve", "train", "--out", str(out), "--no-progress", "--steps", str(steps)]
    if (out / "checkpoints" / "last.pt").is_file():
        cmd = base + ["--resume"]
    else:
        cmd = base + ["--data", str(DATA / "train"), "--network", NETWORK,
                      "--init", str(from_git(*WARM_START, RUNS / "zoo-init.pt")),
                      "--style", *(str(STYLE_DIR / f"{s}.jpg") for s in STYLES), "--style-weight", str(STYLE_WEIGHT),
                      "--lr", str(LR), "--norm-lr", str(NORM_LR), "--image-size", "256", "--batch-size", "4",
                      "--seed", "0", "--face", str(FACE_WEIGHT), "--checkpoint-every", "50", "--preview-every", "0",
                      "--log-every", "10"] + (["--weight", f"face_tone={TONE_WEIGHT:g}"] if run == "on" else [])
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


def evaluate(size: int, out: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from preserve.evaluate import evaluate as run_evaluation
    from preserve.evaluate import prepare_photos

    models = {run: run_folder(run) / "model.pt" for run in ("off", "on")}
    missing = [str(m) for m in models.values() if not m.is_file()]
    if missing:
        raise SystemExit(f"train both runs first (no {', '.join(missing)})")
    prepared = prepare_photos([DATA / "tune"], size=size, judges=JUDGES)
    result: dict = {"machine": machine(), "styles": {}, "tone_weight": TONE_WEIGHT, "face_weight": FACE_WEIGHT,
                    "size": size}
    with tempfile.TemporaryDirectory() as tmp:
        for style in STYLES:
            summary = run_evaluation([models["off"], models["on"]], [], tmp, style=str(STYLE_DIR / f"{style}.jpg"),
                                     size=size, judges=JUDGES, style_name=style, prepared=prepared)
            off, on = (summary["models"][name] for name in ("tone-off", "tone-on"))
            result["faces"] = summary["faces"]
            result["styles"][style] = {
                "better_kept_by_on": {j: on[j]["improved_share_vs_tone-off"] for j in JUDGES},
                "face_delta_e": {"off": off["face_colour"]["delta_e_mean"], "on": on["face_colour"]["delta_e_mean"]},
                "style_ratio": {"off": off["style_ratio"], "on": on["style_ratio"]},
                "content_loss": {"off": off["content_loss_mean"], "on": on["content_loss_mean"]},
            }
    steps = {}
    for run in ("off", "on"):
        rows = (run_folder(run) / "metrics.jsonl").read_text().splitlines()
        steps[run] = json.loads(rows[-1])["step"] if rows else 0
    result["steps"] = steps
    write_result(out, result)
    return 0


def grid(out: Path, people: tuple[str, ...] = ("ctu_Female_41_1_1_1.jpg", "ctu_Female_44_1_1_1.jpg",
                                                 "ctu_Male_25_1_1.jpg")) -> Path:
    """One face of each person in the tune split: the photo's face, then each style without and with face_tone."""
    sys.path.insert(0, str(ROOT))
    import torch

    from preserve.faces.embedders import box_crop
    from preserve.faces.index import face_index
    from preserve.imageio import load_image
    from preserve.models.io import load_model
    from preserve.stylize import stylize_tensor
    from preserve.visual import save_grid

    nets = {run: load_model(run_folder(run) / "model.pt").float().eval() for run in ("off", "on")}
    index = face_index()
    rows = []
    for name in people:
        photo = load_image(DATA / "tune" / name, max_side=384).rgb
        box = index.detector()(photo).boxes[:1]
        stylized = [stylize_tensor(nets[run].set_style(style), photo) for style in STYLES for run in ("off", "on")]
        cells = [box_crop(img[None], torch.zeros(1, dtype=torch.long), box, 160, margin=0.6)[0]
                 for img in (photo, *stylized)]
        rows.append([c.clamp(0, 1) for c in cells])
    cols = ["photo"] + [f"{style}, {label}" for style in STYLES for label in ("face only", "+ face_tone")]
    return save_grid(rows, out, col_labels=cols, cell=160)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", choices=["off", "on"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--grid", type=Path, nargs="?", const=ROOT / "docs" / "images" / "face_tone_pair.jpg",
                        help="write face crops of both runs (default docs/images/face_tone_pair.jpg)")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "face_tone_pair.json")
    args = parser.parse_args()
    if args.grid:
        print(grid(args.grid))
        return 0
    if args.evaluate:
        return evaluate(args.size, args.out)
    if not args.run:
        parser.error("give --run off|on, or --evaluate")
    return train(args.run, args.steps)


if __name__ == "__main__":
    raise SystemExit(main())
