"""Total variation: a smoothness prior on the stylized image."""

from __future__ import annotations

from typing import Any

import torch

from preserve.functional import total_variation
from preserve.plugin import LossContext, Plugin, PluginCard


class TotalVariationPlugin(Plugin):
    """Mean absolute (``power=1``) or squared (``power=2``) difference of neighbouring pixels.

    By default a mean over pixels in [0, 1]. ``reduction="sum"`` with ``pixel_range=255`` is the sum of
    absolute differences on 0-255 pixels that Johnson-style code computes, the scale at which the paper's
    TV weight (1e-6) applies (``examples/recipes/paper.yaml``).

    Args:
        power: 1 for absolute differences (default), 2 for squared ones.
        reduction: ``mean`` (default: the mean over each direction, summed) or ``sum``.
        pixel_range: the value of white (1 by default; 255 for Johnson-style code).

    Examples:
        >>> import torch, preserve
        >>> stripes = torch.zeros(1, 3, 4, 4)
        >>> stripes[..., ::2] = 1.0  # columns alternate 1, 0, 1, 0
        >>> preserve.create("tv")(preserve.LossContext(stripes, stripes))
        tensor([1.])
        >>> preserve.create("tv", reduction="sum", pixel_range=255)(preserve.LossContext(stripes, stripes))
        tensor([9180.])
    """

    card = PluginCard(
        name="tv",
        summary="total variation: penalise pixel-to-pixel noise in the stylized image",
        default_weight=1.0,
        reference="Mahendran & Vedaldi 2015; Johnson et al. 2016",
    )

    def __init__(self, power: float = 1.0, reduction: str = "mean", pixel_range: float = 1.0) -> None:
        super().__init__()
        if power <= 0:
            raise ValueError("tv: 'power' must be positive")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"tv: 'reduction' must be 'mean' or 'sum', got {reduction!r}")
        if pixel_range <= 0:
            raise ValueError("tv: 'pixel_range' must be positive")
        self.power = float(power)
        self.reduction = reduction
        self.pixel_range = float(pixel_range)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return total_variation(ctx.stylized * self.pixel_range, self.power, self.reduction)

    def describe(self) -> dict[str, Any]:
        return {"power": self.power, "reduction": self.reduction, "pixel_range": self.pixel_range}
