"""Stability: the stylized output of a slightly moved or changed photo should be the moved output.

Feed-forward style networks turn small changes of the input (a camera shake, sensor noise, a flicker of
light) into large changes of the strokes, which is what makes stylized video flicker. Following Gupta et al.
2017 (*Characterizing and Improving Stability in Neural Style Transfer*) and ReCoNet (Gao et al. 2018), this
plugin trains the network to be stable: per image it draws a small random perturbation ``T`` (a shift, zoom
and rotation, a brightness change, and pixel noise), runs the network again on ``T(content)``, and asks for

    network(T(content)) == T'(stylized)

where ``T'`` is the same motion and brightness change but *not* the noise: the output should move with the
picture and follow its light, and ignore the noise. The difference is a mean squared error over the pixels
that stay inside the frame after the motion. It needs a frame pair no more than a video does: any photo set
trains it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from preserve.motion import random_motion, warp
from preserve.plugin import LossContext, Needs, Plugin, PluginCard


class StabilityPlugin(Plugin):
    """Mean squared difference between the network's output for a perturbed photo and its output for the
    photo, perturbed the same way (motion and brightness; noise is to be ignored), over in-frame pixels.

    Args:
        shift: largest shift, as a share of the image's width and height (default 0.02).
        zoom: largest zoom change, a factor within ``1 ± zoom`` (default 0.03).
        rotate: largest rotation in degrees (default 1).
        brightness: largest relative brightness change (default 0.05), applied to both sides.
        noise: standard deviation of the Gaussian pixel noise on the perturbed input (default 0.02, on [0, 1]
            pixels), which the output should not follow.

    Outside training (no ``ctx.network``) the term is 0.

    Examples:
        >>> import torch, preserve
        >>> photo = torch.rand(2, 3, 32, 32)
        >>> stable = preserve.create("stability", noise=0.0)
        >>> loss = stable(preserve.LossContext(photo, photo, network=lambda x: x))
        >>> bool(loss.abs().max() < 1e-6)  # the identity commutes with T, up to float rounding
        True
    """

    card = PluginCard(
        name="stability",
        summary="keep the output stable when the input moves or changes slightly (less flicker in video)",
        # 1e5 left flicker as it was in 60-step branches of the zoo run; 2e6 cut it by 10 % (benchmarks/stability.py)
        default_weight=2e6,
        reference="Gupta et al. 2017; Gao et al. 2018 (ReCoNet)",
    )

    def __init__(self, shift: float = 0.02, zoom: float = 0.03, rotate: float = 1.0, brightness: float = 0.05,
                 noise: float = 0.02) -> None:
        super().__init__()
        for name, value in (("shift", shift), ("zoom", zoom), ("rotate", rotate), ("brightness", brightness),
                            ("noise", noise)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"stability: {name!r} must be a non-negative number, got {value!r}")
        if zoom >= 1 or shift >= 0.5:
            raise ValueError("stability: 'zoom' must be under 1 and 'shift' under 0.5 (a small perturbation)")
        self.shift, self.zoom, self.rotate = float(shift), float(zoom), float(rotate)
        self.brightness, self.noise = float(brightness), float(noise)

    def needs(self) -> Needs:
        return Needs(network=True)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        b, _, h, w = ctx.content.shape
        if ctx.network is None:
            return torch.zeros(b, device=ctx.content.device)
        device = ctx.content.device
        matrices = random_motion(b, h, w, self.shift, self.zoom, self.rotate, device=device)
        gain = (1 + (torch.rand(b, device=device) * 2 - 1) * self.brightness).view(b, 1, 1, 1)
        moved, inside = warp(ctx.content, matrices)
        perturbed = (moved * gain + self.noise * torch.randn_like(moved)).clamp(0, 1)
        again = ctx.network(perturbed).float()
        target, _ = warp(ctx.stylized, matrices)
        squared = (again - target * gain).pow(2) * inside
        return squared.sum(dim=(1, 2, 3)) / (inside.sum(dim=(1, 2, 3)) * 3).clamp_min(1.0)

    def describe(self) -> dict[str, Any]:
        return {"shift": self.shift, "zoom": self.zoom, "rotate": self.rotate, "brightness": self.brightness,
                "noise": self.noise}
