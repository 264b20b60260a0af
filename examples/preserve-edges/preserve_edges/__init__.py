"""Edge-structure preservation: a preserve plugin published as its own package.

The stylized image should keep the content image's edges where they are. The
plugin compares Sobel gradient magnitudes of the two images' luminance
(``kornia.filters.sobel``), optionally blurred first so that fine brush
texture does not count as structure. It reads no loss-network features, so it
declares no layers and costs two small convolutions per batch.
"""

from __future__ import annotations

from typing import Any

import torch
from kornia.color import rgb_to_grayscale
from kornia.filters import gaussian_blur2d, sobel

from preserve import LossContext, Plugin, PluginCard


def edge_map(images: torch.Tensor, blur_sigma: float = 1.0) -> torch.Tensor:
    """Sobel gradient magnitude of the luminance, ``(B, 1, H, W)``, in float32."""
    gray = rgb_to_grayscale(images.float())
    if blur_sigma > 0:
        k = 2 * int(3 * blur_sigma) + 1
        gray = gaussian_blur2d(gray, (k, k), (blur_sigma, blur_sigma))
    return sobel(gray)


class EdgePlugin(Plugin):
    """Mean squared difference of the edge maps of the content and the stylized image, per sample."""

    card = PluginCard(
        name="edges",
        summary="keep the content image's edge structure (Sobel magnitude of the luminance)",
        default_weight=1.0e5,
        reference="examples/preserve-edges in the preserve repository",
    )

    def __init__(self, blur_sigma: float = 1.0) -> None:
        super().__init__()
        if blur_sigma < 0:
            raise ValueError("edges: 'blur_sigma' must be >= 0")
        self.blur_sigma = float(blur_sigma)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        with torch.autocast(ctx.stylized.device.type, enabled=False):
            diff = edge_map(ctx.stylized, self.blur_sigma) - edge_map(ctx.content, self.blur_sigma)
        return diff.pow(2).flatten(1).mean(dim=1)

    def describe(self) -> dict[str, Any]:
        return {"blur_sigma": self.blur_sigma}
