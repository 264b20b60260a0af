"""Small image motions (shift, zoom, rotation about the centre) as affine warps, with the mask of pixels that
stay inside the frame: what the stability plugin perturbs with and what flicker measurements warp back by.

Matrices are ``(B, 2, 3)`` in pixel coordinates, mapping source to destination as
``kornia.geometry.transform.warp_affine`` applies them (``align_corners=True``: pixel centres at integers).
"""
from __future__ import annotations

import torch


def motion_matrix(shift_x: torch.Tensor, shift_y: torch.Tensor, scale: torch.Tensor, angle_deg: torch.Tensor,
                  height: int, width: int) -> torch.Tensor:
    """``(B, 2, 3)`` matrices: rotate by ``angle_deg`` and scale by ``scale`` about the image centre, then
    shift by ``(shift_x, shift_y)`` pixels (all ``(B,)`` tensors)."""
    angle = torch.deg2rad(angle_deg.double())
    cos, sin = scale.double() * torch.cos(angle), scale.double() * torch.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return torch.stack([torch.stack([cos, -sin, cx - cos * cx + sin * cy + shift_x.double()], 1),
                        torch.stack([sin, cos, cy - sin * cx - cos * cy + shift_y.double()], 1)], 1).float()


def random_motion(batch: int, height: int, width: int, shift: float, zoom: float, rotate: float,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """Matrices of a random shift (up to ``shift`` of the image size), zoom (a factor within ``1 ± zoom``) and
    rotation (up to ``rotate`` degrees) per image, drawn from torch's global generator."""
    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(batch) * 2 - 1) * scale

    return motion_matrix(uniform(shift) * width, uniform(shift) * height, 1 + uniform(zoom), uniform(rotate),
                         height, width).to(device)


def warp(images: torch.Tensor, matrices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``images`` (``(B, C, H, W)``) moved by ``matrices``, and a ``(B, 1, H, W)`` mask of the pixels whose
    source lies inside the frame (1) rather than outside it (0); differentiable in ``images``."""
    from kornia.geometry.transform import warp_affine

    h, w = images.shape[-2:]
    moved = warp_affine(images.float(), matrices.to(images.device), dsize=(h, w), mode="bilinear",
                        padding_mode="border", align_corners=True)
    ones = torch.ones_like(images[:, :1], dtype=torch.float32)
    inside = warp_affine(ones, matrices.to(images.device), dsize=(h, w), mode="bilinear", padding_mode="zeros",
                         align_corners=True)
    return moved, (inside > 0.999).float()
