"""Digests of tensors' exact contents: what lets a cache or a resumed job tell that two sets of weights or
two images are the same, bit for bit, whatever object holds them."""

from __future__ import annotations

from typing import Any, Iterable

import torch


def hash_tensors(h: Any, named: Iterable[tuple[str, torch.Tensor]]) -> Any:
    """Feed each tensor's name, shape, dtype and raw bytes into the ``hashlib`` object ``h`` and return it.
    Shape and dtype are part of the digest, so a reshaped or recast tensor with the same bytes differs."""
    for name, tensor in named:
        h.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h
