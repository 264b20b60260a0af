"""An efficient style network that carries many styles: depthwise-separable blocks and conditional instance norm.

Johnson's TransformerNet spends most of its ~40 GMAC (512 x 512) in two
full-resolution 9x9 convolutions and ten full 3x3 convolutions over 128
channels. This network keeps the same shape (encode, residual blocks,
decode with nearest upsampling, no transposed convolutions) and makes each
part cheap:

- a 3x3 stem, then three stride-2 3x3 convolutions down to 1/8 resolution;
- residual blocks of depthwise 3x3 + pointwise 1x1 convolutions at 1/8;
- upsampling steps of nearest resize + depthwise 3x3 + pointwise 1x1;
- a 3x3 output convolution.

About 2.4 GMAC at 512 x 512 with the default width (``benchmarks/networks.py``).

Every normalisation is a *conditional* instance norm, so one network holds many styles
(:mod:`preserve.models.styled`).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .styled import ConditionalInstanceNorm, StyleChoice


class _Conv(nn.Module):
    """Reflection padding + a k x k convolution (optionally strided)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride, groups=groups, bias=groups == 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class _SeparableConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1: about 1/9 of a full 3x3 convolution's cost at wide channels."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = _Conv(cin, cin, 3, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.conv1, self.norm1 = _SeparableConv(channels, channels), ConditionalInstanceNorm(channels, num_styles)
        self.conv2, self.norm2 = _SeparableConv(channels, channels), ConditionalInstanceNorm(channels, num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x), style))
        return x + self.norm2(self.conv2(y), style)


class FastStyleNet(StyleChoice):
    """The efficient multi-style network (see the module docstring).

    Args:
        num_styles: how many styles the network holds (each its own normalisation parameters).
        width: channels after the first downsampling (32 by default; the stem has ``width / 2``,
            the residual blocks ``4 * width``).
        residual_blocks: residual blocks at 1/8 resolution.
        style_names: a name per style, recorded in model files (default ``style0``, ``style1``, ...).

    Examples:
        >>> import torch
        >>> net = FastStyleNet(num_styles=2, width=8, style_names=["wave", "night"])
        >>> net(torch.rand(1, 3, 37, 50)).shape  # any size, odd ones included
        torch.Size([1, 3, 37, 50])
        >>> net.set_style({"wave": 0.25, "night": 0.75}).current_style.tolist()
        [0.25, 0.75]
    """

    name = "fast"
    stride = 8  # three stride-2 steps: tiles start on multiples of this

    def __init__(self, num_styles: int = 1, width: int = 32, residual_blocks: int = 5,
                 style_names: Sequence[str] | None = None) -> None:
        super().__init__()
        self._init_styles(num_styles, style_names)
        self.width, self.residual_blocks = width, residual_blocks
        w, s = width, num_styles
        self.stem, self.stem_norm = _Conv(3, w // 2), ConditionalInstanceNorm(w // 2, s)
        chans = [w // 2, w, 2 * w, 4 * w]
        self.down = nn.ModuleList(_Conv(a, b, 3, stride=2) for a, b in zip(chans, chans[1:]))
        self.down_norm = nn.ModuleList(ConditionalInstanceNorm(b, s) for b in chans[1:])
        self.res = nn.ModuleList(_ResidualBlock(4 * w, s) for _ in range(residual_blocks))
        ups = [4 * w, 2 * w, w, w // 2]
        self.up = nn.ModuleList(_SeparableConv(a, b) for a, b in zip(ups, ups[1:]))
        self.up_norm = nn.ModuleList(ConditionalInstanceNorm(b, s) for b in ups[1:])
        self.out = _Conv(w // 2, 3)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Stylize ``x`` (B, 3, H, W) in [0, 1]; ``style`` is (B, num_styles) mixing weights (default: the
        current mix for every image)."""
        s = self.mix(x, style)
        sizes = []
        y = F.relu(self.stem_norm(self.stem(x), s))
        for conv, norm in zip(self.down, self.down_norm):
            sizes.append(y.shape[-2:])
            y = F.relu(norm(conv(y), s))
        for block in self.res:
            y = block(y, s)
        for conv, norm, size in zip(self.up, self.up_norm, reversed(sizes)):
            y = F.relu(norm(conv(F.interpolate(y, size=tuple(size), mode="nearest")), s))
        return self.out(y)

    def config(self) -> dict[str, object]:
        return {"num_styles": self.num_styles, "width": self.width, "residual_blocks": self.residual_blocks,
                "style_names": list(self.style_names)}
