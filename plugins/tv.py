"""Total variation: a smoothness prior on the stylized image."""

from __future__ import annotations

from typing import Any

import torch

from preserve.functional import total_variation
from preserve.plugin import LossContext, Plugin, PluginCard


class TotalVariationPlugin(Plugin):
    """Mean absolute (``power=1``) or squared (``power=2``) difference of neighbouring pixels."""

    card = PluginCard(
        name="tv",
        summary="total variation: penalise pixel-to-pixel noise in the stylized image",
        default_weight=1.0,
        reference="Mahendran & Vedaldi 2015; Johnson et al. 2016",
    )

    def __init__(self, power: float = 1.0) -> None:
        super().__init__()
        if power <= 0:
            raise ValueError("tv: 'power' must be positive")
        self.power = float(power)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return total_variation(ctx.stylized, self.power)

    def describe(self) -> dict[str, Any]:
        return {"power": self.power}
