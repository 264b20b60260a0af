"""OpenFace nn4.small2 (Amos et al. 2016), the paper's face embedder: architecture and weight loader.

The trained weights (``nn4.small2.v1.t7``, Torch7 format) are not published
on any package registry, so preserve cannot fetch or verify them; users who
have the file pass its path. The network is rebuilt here from its published
definition (a FaceNet NN4 variant, 3,733,968 parameters, 96x96 RGB input in
[0, 1], 128-D normalised output), and :func:`load_t7` reads the Torch7 file
(:mod:`preserve.convert.t7`), taking the convolution, batch-norm and linear parameters in
their order of appearance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..convert.t7 import T7Object, read_t7


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, stride, pad), nn.BatchNorm2d(cout), nn.ReLU())


class LPPool(nn.Module):
    """Torch7's SpatialLPPooling with p=2: sqrt of the sum of squares over each window."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (F.avg_pool2d(x.pow(2), self.k, self.k) * (self.k * self.k)).sqrt()


class Inception(nn.Module):
    """dpnn's Inception block with batch norm; columns are zero-padded to a common size (Torch's DepthConcat)."""

    def __init__(self, cin: int, kernels: list[int], strides: list[int], outputs: list[int],
                 reduces: list[int | None], pool: nn.Module) -> None:
        super().__init__()
        self.columns = nn.ModuleList()
        for k, s, out, red in zip(kernels, strides, outputs, reduces):
            self.columns.append(nn.Sequential(ConvBN(cin, red, 1), ConvBN(red, out, k, s, k // 2)))
        pool_reduce = reduces[len(kernels)]
        self.columns.append(nn.Sequential(pool, *([ConvBN(cin, pool_reduce, 1)] if pool_reduce else [])))
        one_by_one = reduces[len(kernels) + 1] if len(reduces) > len(kernels) + 1 else None
        if one_by_one:
            self.columns.append(ConvBN(cin, one_by_one, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [c(x) for c in self.columns]
        h = max(o.shape[2] for o in outs)
        w = max(o.shape[3] for o in outs)
        padded = []
        for o in outs:
            top, left = (h - o.shape[2]) // 2, (w - o.shape[3]) // 2
            padded.append(F.pad(o, (left, w - o.shape[3] - left, top, h - o.shape[2] - top)))
        return torch.cat(padded, dim=1)


class NN4Small2(nn.Module):
    def __init__(self, embedding: int = 128) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            ConvBN(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1), nn.LocalResponseNorm(5, 1e-4, 0.75),
            ConvBN(64, 64, 1), ConvBN(64, 192, 3, 1, 1), nn.LocalResponseNorm(5, 1e-4, 0.75), nn.MaxPool2d(3, 2, 1),
        )
        self.blocks = nn.Sequential(
            Inception(192, [3, 5], [1, 1], [128, 32], [96, 16, 32, 64], nn.MaxPool2d(3, 2)),
            Inception(256, [3, 5], [1, 1], [128, 64], [96, 32, 64, 64], LPPool(3)),
            Inception(320, [3, 5], [2, 2], [256, 64], [128, 32, None, None], nn.MaxPool2d(3, 2)),
            Inception(640, [3, 5], [1, 1], [192, 64], [96, 32, 128, 256], LPPool(3)),
            Inception(640, [3, 5], [2, 2], [256, 128], [160, 64, None, None], nn.MaxPool2d(3, 2)),
            Inception(1024, [3], [1], [384], [96, 96, 256], LPPool(3)),
            Inception(736, [3], [1], [384], [96, 96, 256], nn.MaxPool2d(3, 2)),
        )
        self.fc = nn.Linear(736, embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(F.avg_pool2d(x, 3).flatten(1))

    def parameter_layers(self) -> list[nn.Module]:
        """Conv, batch-norm and linear layers in the order Torch7's nn4.small2 definition creates them."""
        return [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]


def _parameter_modules(obj: Any) -> list[T7Object]:
    """Conv/BN/Linear modules of a Torch7 network, depth first in definition order."""
    found: list[T7Object] = []
    if isinstance(obj, T7Object):
        t = obj.torch_type
        if "Convolution" in t or "BatchNormalization" in t or t == "nn.Linear":
            return [obj]
        children = obj.get("modules")
        if isinstance(children, dict):
            for key in sorted(children):
                found.extend(_parameter_modules(children[key]))
    return found


def load_t7(path: str | Path, model: NN4Small2 | None = None) -> NN4Small2:
    """An :class:`NN4Small2` with the weights of an OpenFace ``.t7`` file (strict: every shape must fit)."""
    net = model or NN4Small2()
    sources = _parameter_modules(read_t7(path))
    targets = net.parameter_layers()
    if len(sources) != len(targets):
        raise ValueError(f"{path}: {len(sources)} parameter layers, nn4.small2 has {len(targets)}")
    with torch.no_grad():
        for src, dst in zip(sources, targets):
            if isinstance(dst, nn.BatchNorm2d):
                pairs = [("weight", dst.weight), ("bias", dst.bias), ("running_mean", dst.running_mean),
                         ("running_var", dst.running_var)]
            else:
                pairs = [("weight", dst.weight), ("bias", dst.bias)]
            for key, tensor in pairs:
                value = torch.from_numpy(np.asarray(src[key], dtype=np.float32))
                if value.numel() != tensor.numel():
                    raise ValueError(f"{path}: {src.torch_type}.{key} has {value.numel()} values, expected "
                                     f"{tensor.numel()} ({tuple(tensor.shape)})")
                tensor.copy_(value.reshape(tensor.shape))
            if isinstance(dst, nn.BatchNorm2d) and src.get("eps"):
                dst.eps = float(src["eps"])
    return net.eval()
