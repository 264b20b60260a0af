"""GPU check: single-GPU training, then torchrun with NCCL over every GPU present; step times as JSON.

Run it on a machine with CUDA GPUs, from the repository root, with preserve installed and its weights cached
(``preserve weights fetch vgg19-caffe``; carry ``$PRESERVE_HOME`` to a machine without network)::

    python benchmarks/gpu_check.py                     # writes benchmarks/results/gpu_check.json

It trains on the photos and the painting in examples/data at 256 px, batch 4 per GPU, first on one GPU
(``--device cuda``), then with ``torchrun --nproc-per-node N`` (NCCL, each process on the GPU of its
LOCAL_RANK, global batch 4 N). It checks that both runs finish with finite losses and reports seconds per
step after the first ``--warmup`` steps. ``--device cpu --nproc 2`` runs the same script on a CPU (gloo)
as a dry run of the script itself; it is not a GPU measurement.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "examples" / "data" / "photos"
STYLE = ROOT / "examples" / "data" / "styles" / "starry_night.jpg"


def step_times(run: Path, warmup: int) -> dict[str, float]:
    """Seconds per step and the last total loss from a run's metrics.jsonl (logged every step)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    timed = [r["s_per_step"] for r in rows if r["step"] > warmup]
    return {"s_per_step_median": statistics.median(timed), "s_per_step_mean": statistics.mean(timed),
            "steps_timed": len(timed), "last_total": rows[-1]["total"],
            "images_per_s_median": statistics.median(r["images_per_s"] for r in rows if r["step"] > warmup)}


def train_args(out: Path, steps: int, batch: int, device: str) -> list[str]:
    return ["train", "--data", str(PHOTOS), "--style", str(STYLE), "--image-size", "256", "--batch-size",
            str(batch), "--steps", str(steps), "--workers", "2", "--log-every", "1", "--checkpoint-every",
            str(steps), "--preview-every", str(10 * steps), "--no-progress", "--device", device, "--out", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20, help="steps left out of the timing (cudnn autotune)")
    parser.add_argument("--device", default="cuda", help="cuda (the check) or cpu (a dry run of this script)")
    parser.add_argument("--nproc", type=int, help="processes for the torchrun part (default: GPUs present)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu_check.json"))
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA GPU here (use --device cpu for a dry run of the script)")
    nproc = args.nproc or (torch.cuda.device_count() if args.device == "cuda" else 2)
    result: dict = {"machine": machine(), "device": args.device, "steps": args.steps, "warmup": args.warmup,
                    "batch_per_process": 4, "image_size": 256}
    if args.device == "cuda":
        result["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        result["bf16"] = torch.cuda.is_bf16_supported()
    tmp = Path(tempfile.mkdtemp(prefix="preserve-gpu-check-"))
    env = {**os.environ, "OMP_NUM_THREADS": "4"}
    try:
        t0 = time.perf_counter()
        single = subprocess.run([sys.executable, "-m", "preserve.cli",
                                 *train_args(tmp / "single", args.steps, 4, args.device)],
                                capture_output=True, text=True, env=env)
        result["single"] = {"returncode": single.returncode, "wall_s": time.perf_counter() - t0,
                            "stderr_tail": single.stderr[-1500:]}
        if single.returncode == 0:
            result["single"].update(step_times(tmp / "single", args.warmup))
        torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
        t0 = time.perf_counter()
        multi = subprocess.run([torchrun, "--standalone", "--nproc-per-node", str(nproc), "-m", "preserve.cli",
                                *train_args(tmp / "multi", args.steps, 4 * nproc, args.device)],
                               capture_output=True, text=True, env=env)
        result["torchrun"] = {"nproc": nproc, "backend": "nccl" if args.device == "cuda" else "gloo",
                              "returncode": multi.returncode, "wall_s": time.perf_counter() - t0,
                              "stderr_tail": multi.stderr[-1500:]}
        if multi.returncode == 0:
            result["torchrun"].update(step_times(tmp / "multi", args.warmup))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = all(result[k]["returncode"] == 0 and math.isfinite(result[k].get("last_total", math.nan))
             for k in ("single", "torchrun"))
    result["ok"] = ok
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k not in ("single", "torchrun")}, indent=2))
    for k in ("single", "torchrun"):
        print(k, {n: v for n, v in result[k].items() if n != "stderr_tail"})
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
