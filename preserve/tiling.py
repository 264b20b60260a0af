"""Stylizing images too large to run whole: overlapping tiles that share instance-norm statistics.

Instance normalisation makes a tile's output depend on the tile's own
statistics, which shows as tone seams when tiles are stylized separately.
:func:`stylize_tiled` therefore first runs the network once on the image
scaled down to ``stats_side`` pixels and records every instance-norm layer's
per-channel mean and variance, then stylizes overlapping tiles at full size
with those statistics fixed, and blends the overlaps with linear ramps. Peak
memory is bounded by the tile size, not the image size.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .imageio import fit_size, resize

STRIDE = 4  # TransformerNet downsamples twice by 2; a network with a ``stride`` attribute says its own


@contextlib.contextmanager
def instance_norm_hooks(net: nn.Module, stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] | None,
                         record: bool) -> Iterator[dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]]:
    """Record each InstanceNorm2d's input statistics, or replace them with given ones."""
    found: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {} if stats is None else stats
    originals = {}
    for m in net.modules():
        if not isinstance(m, nn.InstanceNorm2d):
            continue
        originals[m] = m.forward

        def forward(x: torch.Tensor, m: nn.InstanceNorm2d = m) -> torch.Tensor:
            if record:
                found[m] = (x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), keepdim=True, unbiased=False))
            mean, var = found[m]
            y = (x - mean.to(x.dtype)) * torch.rsqrt(var.to(x.dtype) + m.eps)
            if m.affine:
                y = y * m.weight.view(1, -1, 1, 1).to(x.dtype) + m.bias.view(1, -1, 1, 1).to(x.dtype)
            return y

        m.forward = forward  # type: ignore[method-assign]
    try:
        yield found
    finally:
        for m, f in originals.items():
            m.forward = f  # type: ignore[method-assign]


def run_aligned(net: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """``net`` on one ``(3, H, W)`` image, padded (replicate) to a multiple of its stride so that it samples
    the grid the whole image would; ``(3, H, W)`` float32 on the CPU, unclamped. The image goes to the
    network's device and dtype (channels_last for bf16 weights, as :func:`~preserve.stylize.for_inference`
    prepares them)."""
    param = next(net.parameters())
    stride = int(getattr(net, "stride", STRIDE))
    h, w = image.shape[-2:]
    ph, pw = -h % stride, -w % stride
    x = F.pad(image[None], (0, pw, 0, ph), mode="replicate") if ph or pw else image[None]
    x = x.to(param.device, param.dtype)
    if param.dtype == torch.bfloat16:
        x = x.contiguous(memory_format=torch.channels_last)
    return net(x).float().cpu()[0, :, :h, :w]


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """Blend weights along one side of a tile: zero on the outer quarter of an overlap (where the tile's own
    border padding reaches), rising linearly to one over its middle half. Image borders keep weight one."""
    w = torch.ones(n)
    k = min(overlap, n // 2)
    if k > 0:
        q = k // 4
        i = torch.arange(k, dtype=torch.float32)
        edge = ((i - q + 0.5) / max(k - 2 * q, 1)).clamp(0, 1)
        if not at_start:
            w[:k] = edge
        if not at_end:
            w[n - k:] = edge.flip(0)
    return w


@torch.no_grad()
def stylize_tiled(net: nn.Module, image: torch.Tensor, tile: int = 1024, overlap: int = 256,
                  stats_side: int = 2048) -> torch.Tensor:
    """Stylize a ``(3, H, W)`` image in ``tile``-sized pieces; returns ``(3, H, W)``, unclamped."""
    param = next(net.parameters())
    dtype, device = param.dtype, param.device
    h, w = image.shape[-2:]
    small = resize(image, fit_size((h, w), stats_side)) if max(h, w) > stats_side else image
    with instance_norm_hooks(net, None, record=True) as stats:
        net(small[None].to(device, dtype))
    # Tiles start on multiples of the network's total stride and the image is padded to one, so that
    # every tile samples the same grid as the whole image would: then only the tile borders differ.
    stride = int(getattr(net, "stride", STRIDE))
    tile = max(stride, tile - tile % stride)
    overlap = min(overlap - overlap % stride, tile - stride)
    ph, pw = -h % stride, -w % stride
    padded = F.pad(image[None], (0, pw, 0, ph), mode="replicate")[0] if ph or pw else image
    H, W = padded.shape[-2:]
    out = torch.zeros(3, H, W)
    weight = torch.zeros(1, H, W)
    step = tile - overlap
    ys = _origins(H, tile, step)
    xs = _origins(W, tile, step)
    with instance_norm_hooks(net, stats, record=False):
        for y0 in ys:
            for x0 in xs:
                y1, x1 = min(y0 + tile, H), min(x0 + tile, W)
                result = run_aligned(net, padded[:, y0:y1, x0:x1])
                wy = _ramp(y1 - y0, overlap, y0 == 0, y1 == H)
                wx = _ramp(x1 - x0, overlap, x0 == 0, x1 == W)
                ww = (wy[:, None] * wx[None, :])[None]
                out[:, y0:y1, x0:x1] += result * ww
                weight[:, y0:y1, x0:x1] += ww
    return (out / weight.clamp_min(1e-8))[:, :h, :w]


def _origins(size: int, tile: int, step: int) -> list[int]:
    """Tile starts covering ``size``: every ``step``, the last one flush with the end (all multiples of 4)."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile + 1, step))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts

