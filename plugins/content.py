"""Content preservation: feature reconstruction loss (Johnson et al. 2016)."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from preserve.functional import per_sample_mse
from preserve.plugin import LossContext, Needs, Plugin, PluginCard, layer_spec


class ContentPlugin(Plugin):
    """Mean squared distance between encoder features of the stylized and the content image."""

    card = PluginCard(
        name="content",
        summary="feature reconstruction: keep the content image's encoder features (default relu2_2)",
        default_weight=1.0,
        reference="Johnson et al., Perceptual Losses for Real-Time Style Transfer, ECCV 2016",
    )

    def __init__(self, layers: Sequence[str] = ("relu2_2",), layer_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.layers, self.layer_weights = layer_spec("content", layers, layer_weights)

    def needs(self) -> Needs:
        layers = frozenset(self.layers)
        return Needs(stylized_layers=layers, content_layers=layers)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return sum(
            w * per_sample_mse(ctx.stylized_features[layer], ctx.content_features[layer])
            for layer, w in zip(self.layers, self.layer_weights)
        )

    def describe(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "layer_weights": list(self.layer_weights)}
