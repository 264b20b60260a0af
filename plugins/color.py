"""Colour preservation: keep the content photo's colours while the style changes texture and tone."""

from __future__ import annotations

from typing import Any

import torch
from kornia.filters import gaussian_blur2d

from preserve.color import chroma
from preserve.functional import per_sample_mse
from preserve.plugin import LossContext, Plugin, PluginCard


class ColorPlugin(Plugin):
    """Mean squared distance of the chroma (YUV's U and V) of the stylized and the content image.

    Both are blurred first (``blur_sigma`` pixels) so that the style may still
    add fine coloured texture while large areas keep the photo's colours. At
    inference, ``preserve stylize --preserve-color`` does the complementary
    thing exactly: the stylized luminance with the photo's chroma.

    Args:
        blur_sigma: Gaussian blur (pixels) applied to both chroma maps first; 0 compares them pixel by pixel.

    Examples:
        >>> import torch, preserve
        >>> photo = torch.rand(1, 3, 32, 32)
        >>> color = preserve.create("color", blur_sigma=1.0)
        >>> float(color(preserve.LossContext(photo, photo)))
        0.0
        >>> bool(color(preserve.LossContext(photo.flip(1), photo)) > 0)  # channels swapped: other colours
        True
    """

    card = PluginCard(
        name="color",
        summary="keep the content photo's colours: chroma (YUV U, V) distance after a blur",
        default_weight=2.0e6,
        reference="Gatys et al., Preserving Color in Neural Artistic Style Transfer, 2016",
    )

    def __init__(self, blur_sigma: float = 2.0) -> None:
        super().__init__()
        if blur_sigma < 0:
            raise ValueError("color: 'blur_sigma' must be >= 0")
        self.blur_sigma = float(blur_sigma)

    def _smooth(self, uv: torch.Tensor) -> torch.Tensor:
        if self.blur_sigma <= 0:
            return uv
        k = 2 * int(3 * self.blur_sigma) + 1
        return gaussian_blur2d(uv, (k, k), (self.blur_sigma, self.blur_sigma))

    def forward(self, ctx: LossContext) -> torch.Tensor:
        with torch.autocast(ctx.stylized.device.type, enabled=False):
            return per_sample_mse(self._smooth(chroma(ctx.stylized)), self._smooth(chroma(ctx.content)))

    def describe(self) -> dict[str, Any]:
        return {"blur_sigma": self.blur_sigma}
