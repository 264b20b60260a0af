"""Multi-process data-parallel training on torch.distributed, as started by ``torchrun``.

``torchrun --nproc-per-node N -m preserve.cli train ...`` (or ``--nnodes`` and
a rendezvous endpoint for several machines) sets RANK, WORLD_SIZE and the
rendezvous variables; :func:`setup` then joins the process group (gloo on the
CPU, nccl on CUDA). ``--batch-size`` stays the global batch: each of the N
processes takes an interleaved 1/N of every batch, DDP averages gradients,
and so N processes compute the same steps as one process would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1

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
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def mean_across(info: DistInfo, values: dict[str, float]) -> dict[str, float]:
    """Average logged numbers over all processes (each saw a different shard of the batch)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.tolist())}


def all_true(info: DistInfo, flag: bool) -> bool:
    """Whether ``flag`` holds in every process."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())
