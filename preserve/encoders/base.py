"""The loss-network contract shared by every encoder."""

from __future__ import annotations

from typing import ClassVar, Iterable

import torch

from ..frozen import Frozen


class Encoder(Frozen):
    """A frozen feature extractor taking RGB images in [0, 1].

    ``layer_names`` lists the layers in forward order; :meth:`forward` runs
    the network only as deep as the deepest requested layer and returns the
    requested activations. Each encoder does its own input preprocessing, so
    plugins never need to know whether it expects Caffe BGR or ImageNet RGB.
    """

    name: ClassVar[str] = "encoder"
    layer_names: tuple[str, ...] = ()

    def check_layers(self, layers: Iterable[str]) -> None:
        unknown = sorted(set(layers) - set(self.layer_names))
        if unknown:
            raise ValueError(
                f"encoder {self.name!r} has no layer(s) {unknown}; it has: {', '.join(self.layer_names)}"
            )

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError
