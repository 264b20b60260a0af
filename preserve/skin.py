"""Skin tone and colour shift of face regions, in CIELAB: what ``preserve evaluate`` reports per face.

The *Individual Typology Angle* (Chardon et al. 1991) is the colorimetric skin-tone measure used in
dermatology and in fairness audits of face models: ``ITA = arctan((L* - 50) / b*)`` in degrees, from the
mean L* and b* of skin pixels. Its usual six groups run from very light (> 55 deg) to dark (< -30 deg).
Here it is measured on the central part of a face box (its inner half in each direction, mostly cheeks,
nose and forehead, little hair or background), on the original photo's pixels.

The colour shift of a face under stylization compares the mean CIELAB colour of the same region in the photo
and in the stylized image: the hue angle turned (degrees, 0..180), the chroma gained (C* units) and the
colour difference ΔE*ab (CIE 1976) of the two mean colours.
"""
from __future__ import annotations

import math

import torch
from kornia.color import rgb_to_lab

#: ITA groups (Chardon et al. 1991; Del Bino and Bernerd 2013): lower bound in degrees, name.
ITA_GROUPS: tuple[tuple[float, str], ...] = ((55.0, "very light"), (41.0, "light"), (28.0, "intermediate"),
                                             (10.0, "tan"), (-30.0, "brown"), (-math.inf, "dark"))


def central_region(box: torch.Tensor, shape: tuple[int, int], share: float = 0.5) -> tuple[int, int, int, int]:
    """Integer ``(x1, y1, x2, y2)`` of the centre of ``box`` (``share`` of its width and height), inside
    an image of ``shape`` (H, W), at least one pixel."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * share / 2, (y2 - y1) * share / 2
    h, w = shape
    left, top = min(max(0, int(cx - hw)), w - 1), min(max(0, int(cy - hh)), h - 1)
    return left, top, max(left + 1, min(w, int(math.ceil(cx + hw)))), max(top + 1, min(h, int(math.ceil(cy + hh))))


def mean_lab(image: torch.Tensor, region: tuple[int, int, int, int]) -> torch.Tensor:
    """Mean (L*, a*, b*) of a ``(3, H, W)`` RGB image in [0, 1] (sRGB) over ``region``."""
    x1, y1, x2, y2 = region
    return rgb_to_lab(image[None, :, y1:y2, x1:x2].float().clamp(0, 1))[0].mean(dim=(1, 2))


def ita(lab: torch.Tensor) -> float:
    """The Individual Typology Angle, in degrees, of a mean (L*, a*, b*) colour."""
    return math.degrees(math.atan2(float(lab[0]) - 50.0, float(lab[2])))


def ita_group(angle: float) -> str:
    """The skin-tone group of an ITA angle (see :data:`ITA_GROUPS`)."""
    return next(name for bound, name in ITA_GROUPS if angle > bound)


def colour_shift(before: torch.Tensor, after: torch.Tensor) -> dict[str, float]:
    """How a mean Lab colour moved: ``hue_deg`` (angle turned, 0..180), ``chroma`` (C* gained, signed) and
    ``delta_e`` (CIE76 distance)."""
    hue = math.degrees(math.atan2(float(after[2]), float(after[1])) - math.atan2(float(before[2]), float(before[1])))
    hue = abs((hue + 180.0) % 360.0 - 180.0)
    chroma = float(torch.hypot(after[1], after[2]) - torch.hypot(before[1], before[2]))
    return {"hue_deg": hue, "chroma": chroma, "delta_e": float((after - before).norm())}
