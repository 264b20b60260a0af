"""Flicker, measured: the warping error on clips with a known motion, and the frame difference on real ones.

*Warping error* (as in Gupta et al. 2017 and ReCoNet): for consecutive stylized frames ``S[t-1]`` and
``S[t]`` of a clip whose true motion ``A`` from one frame to the next is known, warp ``S[t-1]`` by ``A`` and
take the mean absolute difference to ``S[t]`` over the pixels that stay inside the frame; average over the
clip. A stylization that moves with the scene scores 0 (up to resampling); one that repaints its strokes
every frame scores high. The same number on the source frames is the floor set by noise and resampling.

For real clips, whose motion is unknown, :func:`frame_difference` gives the mean absolute difference of
consecutive frames; the stylized clip's over the source's says how much the stylization adds.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .motion import motion_matrix, warp

#: Per-frame motions of the synthetic clips: a pan, a zoom and a rotation about the centre.
MOTIONS = {"pan": {"shift_x": 2.0}, "zoom": {"scale": 1.01}, "rotate": {"angle": 0.5}}


def motion_step(kind: str, height: int, width: int) -> torch.Tensor:
    """The ``(1, 2, 3)`` matrix of one frame's motion of a synthetic clip (:data:`MOTIONS`)."""
    if kind not in MOTIONS:
        raise ValueError(f"unknown motion {kind!r}; known: {', '.join(MOTIONS)}")
    m = MOTIONS[kind]
    one = torch.ones(1)
    return motion_matrix(one * m.get("shift_x", 0.0), one * 0.0, one * m.get("scale", 1.0), one * m.get("angle", 0.0),
                         height, width)


def _compose(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The matrix of applying ``a``, then ``b``."""
    def full(m: torch.Tensor) -> torch.Tensor:
        return torch.cat([m[0].double(), torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
    return (full(b) @ full(a))[:2][None].float()


def synthetic_clip(photo: torch.Tensor, kind: str, frames: int, size: int, noise: float = 0.01,
                   seed: int = 0) -> tuple[list[torch.Tensor], torch.Tensor]:
    """``frames`` frames (``(3, size, size)``) of ``photo`` moving by ``kind`` each frame, with Gaussian pixel
    noise, cut from the middle of the photo so no frame shows anything outside it; and the per-frame motion
    matrix (in frame coordinates). ``photo`` must be at least ``1.5 * size`` on each side."""
    _, h, w = photo.shape
    if min(h, w) < 1.5 * size:
        raise ValueError(f"the photo ({w}x{h}) must be at least {int(1.5 * size)} px on each side")
    step = motion_step(kind, size, size)
    top, left = (h - size) // 2, (w - size) // 2
    generator = torch.Generator().manual_seed(seed)
    cumulative = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    offset = torch.tensor([float(left), float(top)])
    out = []
    for _ in range(frames):
        # The motion so far, about the frame's centre, as a motion of the whole photo: shift the crop's
        # corner to the origin, move, shift back.
        whole = cumulative.clone()
        whole[0, :, 2] += offset - cumulative[0, :, :2] @ offset
        moved, _ = warp(photo[None], whole)
        frame = moved[0, :, top:top + size, left:left + size]
        out.append((frame + noise * torch.randn(frame.shape, generator=generator)).clamp(0, 1))
        cumulative = _compose(cumulative, step)
    return out, step


def warping_error(frames: Sequence[torch.Tensor], step: torch.Tensor) -> float:
    """Mean over the clip of the masked mean absolute difference between each frame and the previous one
    warped by ``step`` (pixels in [0, 1])."""
    if len(frames) < 2:
        raise ValueError("the warping error needs at least two frames")
    errors = []
    for before, after in zip(frames, frames[1:]):
        moved, inside = warp(before[None].float(), step)
        diff = (moved[0] - after.float()).abs() * inside[0]
        errors.append(float(diff.sum() / (inside.sum() * after.shape[0]).clamp_min(1)))
    return sum(errors) / len(errors)


def frame_difference(frames: Sequence[torch.Tensor]) -> float:
    """Mean absolute difference of consecutive frames (pixels in [0, 1])."""
    if len(frames) < 2:
        raise ValueError("the frame difference needs at least two frames")
    return sum(float((a.float() - b.float()).abs().mean()) for a, b in zip(frames, frames[1:])) / (len(frames) - 1)
