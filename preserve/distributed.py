"""Multi-process data-parallel training on torch.distributed, as started by ``torchrun``.

``torchrun --nproc-per-node N -m preserve.cli train ...`` (or ``--nnodes`` and
a rendezvous endpoint for several machines) sets RANK, WORLD_SIZE and the
rendezvous variables; :func:`setup` then joins the process group (gloo on the
CPU, nccl on CUDA). ``--batch-size`` stays the global batch: each of the N
processes takes an interleaved 1/N of every batch, DDP averages gradients,
and so N processes compute the same steps as one process would.

:func:`resolve_device` turns ``--device`` (``auto``, ``cpu``, ``cuda``,
``cuda:N``) into the device of this process: with torchrun each process on a
GPU machine takes the GPU of its ``LOCAL_RANK``, and the small reductions
for the logs run on that device (NCCL reduces only CUDA tensors).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device this process trains on: ``auto`` is CUDA when present, else the CPU.

    A bare ``cuda`` under torchrun means the GPU of this process's ``LOCAL_RANK``,
    so that N processes on one machine use N GPUs rather than all landing on ``cuda:0``.
    """
    text = str(name or "auto")
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(text)
    except RuntimeError:
        raise ValueError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {text}: CUDA is not available on this machine (use --device cpu)")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s)")
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {text!r}; use auto, cpu, cuda or cuda:N")
    return device


def bf16_supported(device: torch.device | str = "cpu") -> bool:
    """bf16 autocast pays off on CPUs with native bf16 (AVX512-BF16 / AMX) and on CUDA GPUs that have it."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: torch.device) -> DistInfo:
    """Join the process group when started by torchrun with more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=device)
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device))
    return DistInfo(dist.get_rank(), dist.get_world_size(), device)


def backend_for(device: torch.device) -> str:
    """The collective backend for tensors on ``device``: NCCL for CUDA, gloo for the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def mean_across(info: DistInfo, values: dict[str, float]) -> dict[str, float]:
    """Average logged numbers over all processes (each saw a different shard of the batch)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.tolist())}


def all_true(info: DistInfo, flag: bool) -> bool:
    """Whether ``flag`` holds in every process."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())
