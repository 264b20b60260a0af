"""Johnson et al.'s feed-forward style network (TransformerNet).

Reflection padding, instance normalisation, five residual blocks and
nearest-neighbour upsampling followed by a convolution (no transposed
convolutions, which leave checkerboard artefacts). Input and output are RGB
in [0, 1]; any size works, odd sizes included: each upsampling step returns
exactly the size its matching downsampling step received.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ConvNormReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> None:
        super().__init__(ConvLayer(in_ch, out_ch, kernel, stride), nn.InstanceNorm2d(out_ch, affine=True), nn.ReLU())


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(),
            ConvLayer(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest upsampling to an exact size, then conv + instance norm + ReLU."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.block = ConvNormReLU(in_ch, out_ch, 3)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return self.block(F.interpolate(x, size=size, mode="nearest"))


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
        self.width = width
        self.residual_blocks = residual_blocks
        w = width
        self.down = nn.ModuleList([ConvNormReLU(3, w, 9), ConvNormReLU(w, 2 * w, 3, 2), ConvNormReLU(2 * w, 4 * w, 3, 2)])
        self.res = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(residual_blocks)])
        self.up = nn.ModuleList([UpsampleConv(4 * w, 2 * w), UpsampleConv(2 * w, w)])
        self.out = ConvLayer(w, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = []
        for layer in self.down:
            sizes.append(x.shape[-2:])
            x = layer(x)
        x = self.res(x)
        for layer, size in zip(self.up, reversed(sizes[1:])):
            x = layer(x, tuple(size))
        return self.out(x)

    def config(self) -> dict[str, int]:
        return {"width": self.width, "residual_blocks": self.residual_blocks}
