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

Every normalisation is a *conditional* instance norm (Dumoulin et al., "A
Learned Representation for Artistic Style", 2017): one scale and shift per
style and channel, so one network holds ``num_styles`` styles that share all
convolutions. The network is told which style to paint by a mixing vector
over the styles: a one-hot row trains or applies one style, other convex
weights blend styles by mixing their normalisation parameters. Without an
explicit ``style`` argument it uses its current mix (:meth:`set_style`), so
``net(x)`` works wherever a one-argument network is expected (tiling, ONNX).
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


class FastStyleNet(nn.Module):
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
        if num_styles < 1:
            raise ValueError(f"num_styles must be at least 1, got {num_styles}")
        names = list(style_names) if style_names is not None else [f"style{i}" for i in range(num_styles)]
        if len(names) != num_styles or len(set(names)) != num_styles:
            raise ValueError(f"style_names needs {num_styles} distinct names, got {names}")
        self.num_styles, self.width, self.residual_blocks, self.style_names = num_styles, width, residual_blocks, names
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
        self.register_buffer("current_style", F.one_hot(torch.tensor(0), s).float(), persistent=False)

    def set_style(self, style: int | str | Mapping[str | int, float] | torch.Tensor) -> "FastStyleNet":
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

    def _index(self, key: int | str) -> int:
        if isinstance(key, str):
            if key not in self.style_names:
                raise ValueError(f"unknown style {key!r}; this network has {', '.join(self.style_names)}")
            return self.style_names.index(key)
        if not 0 <= int(key) < self.num_styles:
            raise ValueError(f"style index {key} out of range (the network has {self.num_styles} styles)")
        return int(key)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """Stylize ``x`` (B, 3, H, W) in [0, 1]; ``style`` is (B, num_styles) mixing weights (default: the
        current mix for every image)."""
        s = self.current_style.expand(x.shape[0], -1) if style is None else style
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
