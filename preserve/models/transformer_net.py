"""Johnson et al.'s feed-forward style network (TransformerNet).

Reflection padding, instance normalisation, five residual blocks and
nearest-neighbour upsampling followed by a convolution (no transposed
convolutions, which leave checkerboard artefacts). Input and output are RGB
in [0, 1]; any size works, odd sizes included: each upsampling step returns
exactly the size its matching downsampling step received.

:class:`MultiStyleTransformerNet` (``johnson-multi``) is the same network with
conditional instance norm (:mod:`preserve.models.styled`), holding many styles;
its state dict has the same keys, so a one-style model warm-starts it
(``preserve train --init model.pt``).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .styled import ConditionalInstanceNorm, StyleChoice


def _norm(channels: int, num_styles: int) -> nn.Module:
    """Instance norm with one learnt scale and shift (``num_styles`` 0), or one per style."""
    return nn.InstanceNorm2d(channels, affine=True) if num_styles == 0 else ConditionalInstanceNorm(channels, num_styles)


def _run(layers: nn.Sequential, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
    """``layers`` in turn, handing the style mix to the conditional norms among them."""
    for layer in layers:
        x = layer(x, style) if isinstance(layer, ConditionalInstanceNorm) else layer(x)
    return x


class ConvLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ConvNormReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, num_styles: int = 0) -> None:
        super().__init__(ConvLayer(in_ch, out_ch, kernel, stride), _norm(out_ch, num_styles), nn.ReLU())

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        return _run(self, x, style)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int = 0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            _norm(channels, num_styles),
            nn.ReLU(),
            ConvLayer(channels, channels, 3),
            _norm(channels, num_styles),
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        return x + _run(self.body, x, style)


class UpsampleConv(nn.Module):
    """Nearest upsampling to an exact size, then conv + instance norm + ReLU."""

    def __init__(self, in_ch: int, out_ch: int, num_styles: int = 0) -> None:
        super().__init__()
        self.block = ConvNormReLU(in_ch, out_ch, 3, num_styles=num_styles)

    def forward(self, x: torch.Tensor, size: tuple[int, int], style: torch.Tensor | None = None) -> torch.Tensor:
        return self.block(F.interpolate(x, size=size, mode="nearest"), style)


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network, one style per network; about 40 GMAC at 512 x 512.

    Args:
        width: scales every channel count (32 in the paper).
        residual_blocks: residual blocks at 1/4 resolution (5 in the paper).
    """

    name = "johnson"
    stride = 4  # two stride-2 steps: tiles start on multiples of this

    def __init__(self, width: int = 32, residual_blocks: int = 5) -> None:
        super().__init__()
        self._build(width, residual_blocks, 0)

    def _build(self, width: int, residual_blocks: int, num_styles: int) -> None:
        self.width = width
        self.residual_blocks = residual_blocks
        w, s = width, num_styles
        self.down = nn.ModuleList([ConvNormReLU(3, w, 9, num_styles=s), ConvNormReLU(w, 2 * w, 3, 2, num_styles=s),
                                   ConvNormReLU(2 * w, 4 * w, 3, 2, num_styles=s)])
        self.res = nn.Sequential(*[ResidualBlock(4 * w, s) for _ in range(residual_blocks)])
        self.up = nn.ModuleList([UpsampleConv(4 * w, 2 * w, s), UpsampleConv(2 * w, w, s)])
        self.out = ConvLayer(w, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._paint(x, None)

    def _paint(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        sizes = []
        for layer in self.down:
            sizes.append(x.shape[-2:])
            x = layer(x, style)
        for block in self.res:
            x = block(x, style)
        for layer, size in zip(self.up, reversed(sizes[1:])):
            x = layer(x, tuple(size), style)
        return self.out(x)

    def config(self) -> dict[str, int]:
        return {"width": self.width, "residual_blocks": self.residual_blocks}


class MultiStyleTransformerNet(StyleChoice, TransformerNet):
    """Johnson's network holding ``num_styles`` styles in conditional instance norms (same cost per image).

    Training cost is dominated by the loss network, so on the reference CPU this network trains at about the
    speed of ``fast`` while keeping far more of the photo per step (docs/benchmarks.md); it is the network of
    the shipped multi-style models.

    Args:
        num_styles: how many styles the network holds.
        width, residual_blocks: as :class:`TransformerNet`.
        style_names: a name per style, recorded in model files (default ``style0``, ``style1``, ...).

    Examples:
        >>> import torch
        >>> net = MultiStyleTransformerNet(num_styles=2, width=8, style_names=["wave", "night"])
        >>> net.set_style("night")(torch.rand(1, 3, 37, 50)).shape
        torch.Size([1, 3, 37, 50])
    """

    name = "johnson-multi"

    def __init__(self, num_styles: int = 1, width: int = 32, residual_blocks: int = 5,
                 style_names: Sequence[str] | None = None) -> None:
        nn.Module.__init__(self)
        self._init_styles(num_styles, style_names)
        self._build(width, residual_blocks, num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Stylize ``x`` (B, 3, H, W) in [0, 1]; ``style`` is (B, num_styles) mixing weights (default: the
        current mix for every image)."""
        return self._paint(x, self.mix(x, style))

    def config(self) -> dict[str, object]:
        return {"num_styles": self.num_styles, "width": self.width, "residual_blocks": self.residual_blocks,
                "style_names": list(self.style_names)}
