"""Style transfer: match Gram matrices of encoder features (Gatys et al. 2016)."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from preserve.digest import hash_tensors
from preserve.encoders.base import Encoder
from preserve.functional import gram_matrix, per_sample_mse
from preserve.imageio import load_image
from preserve.plugin import LossContext, Needs, Plugin, PluginCard, layer_spec, weights_of_styles

DEFAULT_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
REDUCTIONS = ("mean", "sum")
# Gram targets already computed in this process, by (encoder fingerprint, layers, image digest, device): every
# recipe built for the same styles (tune's branches, a resumed run, one evaluation per style) reuses them instead
# of running the loss network on each style image again (about 1.4 s for one 512 px image on two CPU cores).
_GRAMS: OrderedDict[tuple[str, tuple[str, ...], str, str], list[torch.Tensor]] = OrderedDict()
_GRAMS_KEPT = 64  # about 1.4 MB each at the default layers


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
        per_style: with several images, each is its own style (a multi-style network learns them all,
            ``ctx.style`` says which one each image was painted in) instead of one blended style.
        names: one name per image for ``per_style`` (default: the file names without suffix).
        style_weights: with ``per_style``, how much each style's loss counts, as ``{name: weight}`` (styles
            left out: 1) or one number per image: a style that stays weaker than the others in a multi-style
            network can be pushed harder without re-weighing every style against the content term.

    Examples:
        >>> import torch, preserve
        >>> style = preserve.create("style", image=torch.rand(3, 32, 32), layers="relu1_2", reduction="sum")
        >>> style.layers, style.layer_weights, style.reduction
        (('relu1_2',), (1.0,), 'sum')
        >>> two = [torch.rand(3, 32, 32), torch.rand(3, 32, 32)]
        >>> preserve.create("style", image=two, per_style=True, style_weights={"style1": 2}).style_weights
        (1.0, 2.0)
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
        per_style: bool = False,
        names: Sequence[str] | None = None,
        style_weights: Mapping[str, float] | Sequence[float] | None = None,
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
        self.per_style = bool(per_style)
        if self.per_style and blend is not None:
            raise ValueError("style: 'blend' mixes the images into one style; with 'per_style' each is its own")
        self.names = list(names) if names is not None else style_names(self.sources)
        if len(self.names) != len(self.sources) or len(set(self.names)) != len(self.names):
            raise ValueError(f"style: 'names' needs one distinct name per image, got {self.names}")
        self.style_weights = self._style_weights(style_weights)
        self.images = [self._load(src) for src in self.sources]

    def _style_weights(self, given: Mapping[str, float] | Sequence[float] | None) -> tuple[float, ...]:
        """One weight per style, in image order, from a ``{name: weight}`` mapping or a list."""
        if given is None:
            return (1.0,) * len(self.sources)
        if not self.per_style:
            raise ValueError("style: 'style_weights' weigh the styles of a multi-style network ('per_style'); "
                             "to mix images into one style use 'blend'")
        return weights_of_styles(given, self.names, "style: 'style_weights'")

    def _load(self, source: Any) -> torch.Tensor:
        if isinstance(source, torch.Tensor):
            img = source.float()
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f"style: an image tensor must be (3, H, W), got {tuple(img.shape)}")
            return img
        return load_image(source, max_side=self.size).rgb

    def needs(self) -> Needs:
        return Needs(stylized_layers=frozenset(self.layers))

    def styles(self) -> list[str]:
        """One name per style: each image's with ``per_style``, else one name for the (blended) style."""
        return list(self.names) if self.per_style else ["+".join(self.names)]

    @torch.no_grad()
    def setup(self, encoder: Encoder) -> None:
        """Compute the target Grams once, ``(S, C, C)`` per layer (S styles, or 1 for a blend); they live as
        buffers so ``.to(device)`` moves them."""
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        per_image = [style_grams(encoder, img, self.layers, device) for img in self.images]
        for i in range(len(self.layers)):
            grams = torch.stack([p[i] for p in per_image])
            if not self.per_style:
                grams = (grams * torch.tensor(self.blend, device=grams.device)[:, None, None]).sum(0, keepdim=True)
            self.register_buffer(f"target_{i}", grams, persistent=False)
        self.register_buffer("weight_of_style", torch.tensor(self.style_weights, device=device), persistent=False)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        total = torch.zeros(ctx.batch_size, device=ctx.stylized.device)
        for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights)):
            target = self._targets(getattr(self, f"target_{i}"), ctx)
            g = gram_matrix(ctx.stylized_features[layer])
            if self.reduction == "mean":
                total = total + w * per_sample_mse(g, target)
            else:
                total = total + w * (g - target).pow(2).flatten(1).sum(dim=1)
        if self.per_style and ctx.style is not None:
            total = total * self.weight_of_style[ctx.style.to(total.device)]
        return total

    def _targets(self, grams: torch.Tensor, ctx: LossContext) -> torch.Tensor:
        """Each image's target Gram, ``(B, C, C)``: its own style's, or the one (blended) style's."""
        if grams.shape[0] == 1:
            return grams.expand(ctx.batch_size, -1, -1)
        if ctx.style is None:
            raise ValueError(f"style: this term holds {grams.shape[0]} styles; the batch must say which style "
                             "each image was painted in (ctx.style)")
        return grams[ctx.style.to(grams.device)]

    def describe(self) -> dict[str, Any]:
        names = [os.fspath(s) if not isinstance(s, torch.Tensor) else "<tensor>" for s in self.sources]
        return {"image": names, "layers": list(self.layers), "size": self.size, "reduction": self.reduction,
                "per_style": self.per_style, "names": list(self.names),
                **({"style_weights": dict(zip(self.names, self.style_weights))}
                   if any(w != 1.0 for w in self.style_weights) else {})}


@torch.no_grad()
def style_grams(encoder: Encoder, image: torch.Tensor, layers: Sequence[str], device: torch.device) -> list[torch.Tensor]:
    """The Gram matrix of ``image`` (3, H, W) at each of ``layers``, computed once per process for the same
    encoder weights, layers, pixels and device (the cached tensors are shared: read them, never change them)."""
    pixels = image.detach().cpu().float().contiguous()
    if not callable(getattr(encoder, "fingerprint", None)):  # an encoder from elsewhere that cannot say its weights
        feats = encoder(pixels[None].to(device), layers)
        return [gram_matrix(feats[layer])[0] for layer in layers]
    digest = hash_tensors(hashlib.blake2b(digest_size=16), [("image", pixels)]).hexdigest()
    key = (encoder.fingerprint(), tuple(layers), digest, str(device))
    if key in _GRAMS:
        _GRAMS.move_to_end(key)
        return _GRAMS[key]
    feats = encoder(pixels[None].to(device), layers)
    grams = [gram_matrix(feats[layer])[0] for layer in layers]
    _GRAMS[key] = grams
    if len(_GRAMS) > _GRAMS_KEPT:
        _GRAMS.popitem(last=False)
    return grams


def style_names(sources: Sequence[Any]) -> list[str]:
    """A distinct name per style image: its file name without suffix (``style<i>`` for a tensor), numbered
    where two would be the same."""
    names: list[str] = []
    for i, src in enumerate(sources):
        base = Path(os.fspath(src)).stem if not isinstance(src, torch.Tensor) else f"style{i}"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names
