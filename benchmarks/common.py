"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import torch


def machine() -> str:
    """CPU model, bf16 support, cores and threads, e.g. 'AMD EPYC (avx512_bf16), 2 cores, 2 torch threads'."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    bf16 = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    return (f"{model} ({', '.join(bf16) or 'no native bf16'}), {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")


def write_result(path: str | Path, result: dict[str, Any]) -> Path:
    """Write a benchmark's JSON result (making its folder) and print it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return out
