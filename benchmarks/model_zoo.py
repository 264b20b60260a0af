"""Train the shipped multi-style models: one efficient network (``fast``) for all eight styles, twice.

    python benchmarks/model_zoo.py --run plain  --steps 1154            # stage 1: content + style (1.0) + TV
    python benchmarks/model_zoo.py --run faces  --steps 1154            # the same, with the face term from step 0
    python benchmarks/model_zoo.py --run plain  --stage 2 --steps 3000  # stage 2: style 0.5, from stage 1's end
    python benchmarks/model_zoo.py --run faces  --stage 2 --steps 3000

Stage 1 (``runs/zoo-{plain,faces}``) trains with a heavy style weight so that every style's palette and
strokes are learnt early; on its own it washes the photo out (content loss 3.3x the one-style models' at
step 1154). Stage 2 (``runs/zoo2-{plain,faces}``) branches each run at stage 1's last checkpoint with the
style weight halved, so that the photo comes back while the painting stays; its step count goes on from
stage 1's. The faces run keeps its face term in both stages.

Both runs share data (``preserve data build runs/zoo-data``: its ``train`` split only), styles, recipe,
seed, batches and steps; they differ only in the face term. Each keeps a checkpoint every 50 steps in
``runs/zoo-{plain,faces}`` and resumes where it stopped, so a run outlives the shell that started it and a
later session continues it with a larger ``--steps``. On a 2-core CPU run both side by side, one thread each::

    OMP_NUM_THREADS=1 nohup python benchmarks/model_zoo.py --run plain --steps 2000 > runs/logs/zoo-plain.log 2>&1 &
    OMP_NUM_THREADS=1 nohup python benchmarks/model_zoo.py --run faces --steps 2000 > runs/logs/zoo-faces.log 2>&1 &

With a GPU, ``--device cuda`` trains the same run there (copy ``runs/zoo-data`` and the run folder over,
and the checkpoint back). ``python docs/make_results.py`` then evaluates, ships and documents the models.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"
DATA = RUNS / "zoo-data"
STYLE_DIR = ROOT / "examples" / "data" / "styles"
STYLES = ["great_wave", "starry_night", "the_scream", "woman_with_fan", "composition_viii", "cafe_terrace",
          "night_cafe", "moulin_de_la_galette"]
STYLE_WEIGHT = {1: 1.0, 2: 0.5}  # stage 1: five times the default recipe's 0.2; stage 2: half that
STAGE1_STEPS = 1154  # where stage 1 stopped and stage 2 branches
FACE_WEIGHT = 3e4
PREVIEWS = [DATA / "eval" / "ctu_Male_23_1_1_1.jpg", DATA / "eval" / "gcompris_explore_monuments_eiffelTower.jpg"]


def run_folder(run: str, stage: int) -> Path:
    return RUNS / (f"zoo-{run}" if stage == 1 else f"zoo{stage}-{run}")


def command(run: str, args: argparse.Namespace) -> list[str]:
    out = run_folder(run, args.stage)
    base = [sys.executable, "-m", "preserve", "train", "--out", str(out), "--no-progress", "--steps", str(args.steps)]
    if (out / "checkpoints" / "last.pt").is_file():
        return base + ["--resume", "--device", args.device]
    extra = ["--face", str(FACE_WEIGHT)] if run == "faces" else []
    if args.stage > 1:
        extra += ["--init", str(run_folder(run, args.stage - 1) / "checkpoints" / "last.pt")]
    return base + ["--data", str(DATA / "train"), "--network", "fast",
                   "--style", *(str(STYLE_DIR / f"{s}.jpg") for s in STYLES), "--style-weight", str(STYLE_WEIGHT[args.stage]),
                   "--image-size", "256", "--batch-size", "4", "--seed", "0", "--device", args.device,
                   "--checkpoint-every", "50", "--keep-every", "500", "--preview-every", "200",
                   "--preview", *map(str, PREVIEWS), "--log-every", "10"] + extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", choices=["plain", "faces"], required=True)
    parser.add_argument("--stage", type=int, choices=sorted(STYLE_WEIGHT), default=1)
    parser.add_argument("--steps", type=int, default=STAGE1_STEPS)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not (DATA / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "preserve", "data", "build", str(DATA), "--no-progress"], check=True)
    cmd = command(args.run, args)
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    raise SystemExit(main())
