"""Colour helpers: luminance/chroma splits used by colour preservation.

Gatys et al. (2016), "Preserving Color in Neural Artistic Style Transfer":
a stylized image keeps the content's colours if its luminance comes from the
stylization and its chroma from the content photo.
"""

from __future__ import annotations

import torch
from kornia.color import rgb_to_yuv, yuv_to_rgb


def chroma(images: torch.Tensor) -> torch.Tensor:
    """The U and V channels of ``(B, 3, H, W)`` RGB images, in float32."""
    return rgb_to_yuv(images.float())[:, 1:]


def luminance_only(stylized: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """The stylized image's luminance with the original's chroma (both RGB in [0, 1], same shape)."""
    batched = stylized.dim() == 4
    s = stylized if batched else stylized[None]
    o = original if batched else original[None]
    yuv = torch.cat([rgb_to_yuv(s.float())[:, :1], rgb_to_yuv(o.float())[:, 1:]], dim=1)
    out = yuv_to_rgb(yuv).clamp(0, 1)
    return out if batched else out[0]
