"""Content preservation: feature reconstruction loss (Johnson et al. 2016)."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from preserve.functional import per_sample_mse
from preserve.plugin import LossContext, Needs, Plugin, PluginCard, layer_spec


class ContentPlugin(Plugin):
    """Mean squared distance between encoder features of the stylized and the content image.

    Args:
        layers: encoder layer(s) to compare (one name or a list); default ``relu2_2``, Johnson et al.'s choice.
        layer_weights: one weight per layer (default 1 each); the loss is their weighted sum.

    Examples:
        >>> import torch, preserve
        >>> content = preserve.create("content", layers=["relu2_2", "relu3_3"], layer_weights=[1.0, 0.5])
        >>> sorted(content.needs().content_layers)
        ['relu2_2', 'relu3_3']
        >>> f = {"relu2_2": torch.ones(2, 4, 8, 8), "relu3_3": torch.ones(2, 8, 4, 4)}
        >>> content(preserve.LossContext(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), f, f))
        tensor([0., 0.])
    """

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
