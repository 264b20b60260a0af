"""Stylize latency per image (batch 1) at 256, 512 and 1024 px: torch fp32, torch bf16, onnxruntime.

All backends run in one process on the same network and the same images, with
the same number of threads (default: all cores). Prints a table and writes JSON.

    python benchmarks/stylize_latency.py [--model runs/demo/model.pt] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from common import machine

from preserve.export import OnnxStylizer, export_onnx
from preserve.models.transformer_net import TransformerNet
from preserve.stylize import for_inference, load_model, stylize_tensor

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, x: torch.Tensor, repeats: int) -> float:
    fn(x)  # warm-up (allocations, oneDNN kernel selection)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model.pt (default: an untrained TransformerNet; speed does not depend on weights)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/stylize_latency.json"))
    args = parser.parse_args()

    net = load_model(args.model) if args.model else TransformerNet().eval()
    with tempfile.TemporaryDirectory() as tmp:
        ort = OnnxStylizer(export_onnx(net, Path(tmp) / "m.onnx"), threads=torch.get_num_threads())
        net_bf16 = for_inference(net, bf16=True)
        backends = {
            "torch_fp32": lambda x: stylize_tensor(net, x),
            "torch_bf16_autocast": lambda x: stylize_tensor(net, x, bf16=True),
            "torch_bf16": lambda x: stylize_tensor(net_bf16, x),
            "onnxruntime": lambda x: stylize_tensor(ort, x),
        }
        rows = []
        for size in args.sizes:
            x = torch.rand(1, 3, size, size)
            row = {"size": size, **{name: round(timed(fn, x, args.repeats), 1) for name, fn in backends.items()}}
            rows.append(row)
            print(f"{size:>5} px  " + "  ".join(f"{k} {v:8.1f} ms" for k, v in row.items() if k != "size"), flush=True)
    result = {"benchmark": "stylize_latency", "unit": "ms per image, batch 1, median",
              "machine": machine(),
              "torch": torch.__version__, "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
