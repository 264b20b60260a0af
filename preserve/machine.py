"""What a run or a benchmark records about the machine it ran on.

Speeds are only comparable on one machine, and a long training run may be continued on another, so run
folders (``sessions.jsonl``), benchmarks and model cards all name the machine with the same words.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def cpu() -> tuple[str, set[str]]:
    """The CPU's model name and its feature flags (empty where /proc/cpuinfo is not readable)."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    return model, flags


def describe() -> str:
    """CPU model, bf16 support, cores and threads, e.g. 'AMD EPYC (avx512_bf16), 2 cores, 2 torch threads, torch 2.14.1'."""
    model, flags = cpu()
    bf16 = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    return (f"{model} ({', '.join(bf16) or 'no native bf16'}), {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")


def short() -> str:
    """The CPU model, its cores and the GPU if any, for model cards: 'AMD EPYC, 2 cores, no GPU'."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu()[0]}, {os.cpu_count()} cores, {gpu}"
