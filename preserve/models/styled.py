"""What every multi-style network shares: conditional instance norm and the choice of the style to paint.

Conditional instance norm (Dumoulin et al., "A Learned Representation for
Artistic Style", 2017) keeps one scale and shift per style and channel, so one
network holds ``num_styles`` styles that share all convolutions. The network
is told which style to paint by a mixing vector over the styles: a one-hot row
trains or applies one style, other convex weights blend styles by mixing their
normalisation parameters. Without an explicit ``style`` argument a network
uses its current mix (:meth:`StyleChoice.set_style`), so ``net(x)`` works
wherever a one-argument network is expected (tiling, ONNX).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ConditionalInstanceNorm(nn.Module):
    """Instance norm (an ``nn.InstanceNorm2d`` without affine) followed by a per-style scale and shift."""

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.weight = nn.Parameter(torch.ones(num_styles, channels))
        self.bias = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``style``: (B, num_styles) mixing weights; each row's scale and shift is that mix of the styles'."""
        scale = (style.to(self.weight.dtype) @ self.weight).to(x.dtype)[:, :, None, None]
        shift = (style.to(self.bias.dtype) @ self.bias).to(x.dtype)[:, :, None, None]
        return self.norm(x) * scale + shift


class StyleChoice(nn.Module):
    """Names of a network's styles and the mix it paints when called without ``style`` (``current_style``)."""

    def _init_styles(self, num_styles: int, style_names: Sequence[str] | None) -> None:
        if num_styles < 1:
            raise ValueError(f"num_styles must be at least 1, got {num_styles}")
        names = list(style_names) if style_names is not None else [f"style{i}" for i in range(num_styles)]
        if len(names) != num_styles or len(set(names)) != num_styles:
            raise ValueError(f"style_names needs {num_styles} distinct names, got {names}")
        self.num_styles, self.style_names = num_styles, names
        self.register_buffer("current_style", F.one_hot(torch.tensor(0), num_styles).float(), persistent=False)

    def set_style(self, style: int | str | Mapping[str | int, float] | torch.Tensor) -> "StyleChoice":
        """Choose what ``net(x)`` paints: a style's index or name, or a blend ``{name_or_index: weight}``
        (weights must be non-negative and are normalised to sum to 1), or a mixing vector."""
        self.current_style.copy_(self.style_vector(style))
        return self

    def style_vector(self, style: int | str | Mapping[str | int, float] | torch.Tensor) -> torch.Tensor:
        """The (num_styles,) mixing vector of a style index, name, blend mapping or vector."""
        if isinstance(style, torch.Tensor):
            vec = style.float().reshape(self.num_styles)
        elif isinstance(style, Mapping):
            vec = torch.zeros(self.num_styles)
            for key, weight in style.items():
                vec[self._index(key)] += float(weight)
        else:
            vec = F.one_hot(torch.tensor(self._index(style)), self.num_styles).float()
        if (vec < 0).any() or not torch.isfinite(vec).all() or float(vec.sum()) <= 0:
            raise ValueError(f"style weights must be non-negative and sum to more than 0, got {vec.tolist()}")
        return vec / vec.sum()

    def mix(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """The (B, num_styles) mixing weights a forward pass uses: ``style``, or the current mix for every image."""
        return self.current_style.expand(x.shape[0], -1) if style is None else style

    def _index(self, key: int | str) -> int:
        if isinstance(key, str):
            if key not in self.style_names:
                raise ValueError(f"unknown style {key!r}; this network has {', '.join(self.style_names)}")
            return self.style_names.index(key)
        if not 0 <= int(key) < self.num_styles:
            raise ValueError(f"style index {key} out of range (the network has {self.num_styles} styles)")
        return int(key)
