"""Style transfer: match Gram matrices of encoder features (Gatys et al. 2016)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import torch

from preserve.encoders.base import Encoder
from preserve.functional import gram_matrix, per_sample_mse
from preserve.imageio import load_image
from preserve.plugin import LossContext, Needs, Plugin, PluginCard, layer_spec

DEFAULT_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
REDUCTIONS = ("mean", "sum")


class StylePlugin(Plugin):
    """Squared distance of Gram matrices (normalised by C*H*W) to cached style targets.

    ``image`` is one style image or a list of them (paths or ``(3, H, W)``
    tensors in [0, 1]); with several, the target Grams are their weighted mean
    (``blend``). Style images larger than ``size`` on their longer side are
    scaled down once, before their Grams are computed and cached.

    ``reduction`` says how the C x C entries of each layer's squared Gram
    difference are reduced: ``mean`` (the default) divides by C², as
    pytorch/examples' fast_neural_style and the paper's code do (``mse_loss``
    of the Grams), so published weights such as 1e10 apply to it; ``sum`` is
    the squared Frobenius norm of Johnson et al.'s eq. 3, which weighs the
    512-channel relu4_3 64x more, relative to the 64-channel relu1_2, than ``mean`` does.

    Args:
        image: a style image path, a ``(3, H, W)`` tensor in [0, 1], or a list of them (blended).
        layers: encoder layers whose Grams are matched (default relu1_2, relu2_2, relu3_3, relu4_3).
        layer_weights: one weight per layer (default 1 each).
        size: style images larger than this on their longer side are scaled down first (default 512;
            None keeps them as they are).
        blend: one non-negative weight per style image (normalised to sum to 1); default equal.
        reduction: ``mean`` (default) or ``sum`` over the Gram entries, as above.

    Examples:
        >>> import torch, preserve
        >>> style = preserve.create("style", image=torch.rand(3, 32, 32), layers="relu1_2", reduction="sum")
        >>> style.layers, style.layer_weights, style.reduction
        (('relu1_2',), (1.0,), 'sum')
        >>> preserve.create("style", image=torch.rand(3, 32, 32), blend=[1.0, 2.0])
        Traceback (most recent call last):
        ValueError: style: 'blend' needs one non-negative number per style image
    """

    card = PluginCard(
        name="style",
        summary="Gram-matrix style loss at relu1_2, relu2_2, relu3_3, relu4_3 against one or several style images",
        default_weight=1.0,
        path_options=("image",),
        reference="Gatys et al., Image Style Transfer Using CNNs, CVPR 2016",
    )

    def __init__(
        self,
        image: Any = None,
        layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
        layer_weights: Sequence[float] | None = None,
        size: int | None = 512,
        blend: Sequence[float] | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"style: 'reduction' must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        if image is None:
            raise ValueError("style: give 'image', a style image path (or a list of them)")
        self.sources = list(image) if isinstance(image, (list, tuple)) else [image]
        self.layers, self.layer_weights = layer_spec("style", layers, layer_weights)
        self.size = size
        blend_w = list(blend) if blend is not None else [1.0] * len(self.sources)
        if len(blend_w) != len(self.sources) or sum(blend_w) <= 0:
            raise ValueError("style: 'blend' needs one non-negative number per style image")
        self.blend = [w / sum(blend_w) for w in blend_w]
        self.images = [self._load(src) for src in self.sources]
        self.targets: dict[str, torch.Tensor] = {}

    def _load(self, source: Any) -> torch.Tensor:
        if isinstance(source, torch.Tensor):
            img = source.float()
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f"style: an image tensor must be (3, H, W), got {tuple(img.shape)}")
            return img
        return load_image(source, max_side=self.size).rgb

    def needs(self) -> Needs:
        return Needs(stylized_layers=frozenset(self.layers))

    @torch.no_grad()
    def setup(self, encoder: Encoder) -> None:
        """Compute the target Grams once; they live as buffers so ``.to(device)`` moves them."""
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        grams: dict[str, torch.Tensor] = {}
        for img, w in zip(self.images, self.blend):
            feats = encoder(img[None].to(device), self.layers)
            for layer in self.layers:
                g = gram_matrix(feats[layer])[0] * w
                grams[layer] = grams[layer] + g if layer in grams else g
        for i, layer in enumerate(self.layers):
            self.register_buffer(f"target_{i}", grams[layer], persistent=False)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        total = torch.zeros(ctx.batch_size, device=ctx.stylized.device)
        for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights)):
            target = getattr(self, f"target_{i}")
            g = gram_matrix(ctx.stylized_features[layer])
            if self.reduction == "mean":
                total = total + w * per_sample_mse(g, target.expand_as(g))
            else:
                total = total + w * (g - target).pow(2).flatten(1).sum(dim=1)
        return total

    def describe(self) -> dict[str, Any]:
        names = [os.fspath(s) if not isinstance(s, torch.Tensor) else "<tensor>" for s in self.sources]
        return {"image": names, "layers": list(self.layers), "size": self.size, "reduction": self.reduction}
