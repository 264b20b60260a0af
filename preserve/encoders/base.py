"""The loss-network contract shared by every encoder."""

from __future__ import annotations

import hashlib
from typing import ClassVar, Iterable

import torch

from ..digest import hash_tensors
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

    def fingerprint(self) -> str:
        """A digest of what decides the features: the class, layer names and every weight and buffer. Two
        instances with the same fingerprint give the same features, so work done with one (a style's Gram
        targets) serves the other. Hashed once and kept while no weight changes (each tensor's storage and
        in-place version are checked; a copy or a loaded state dict hashes again)."""
        tensors = [*self.named_parameters(), *self.named_buffers()]
        stamp = tuple((t.data_ptr(), t._version) for _, t in tensors)
        cached = self.__dict__.get("_fingerprint")
        if cached is None or cached[0] != stamp:
            h = hashlib.blake2b(digest_size=16)
            h.update(f"{type(self).__module__}.{type(self).__qualname__}:{self.name}:{self.layer_names}".encode())
            hash_tensors(h, tensors)
            cached = self.__dict__["_fingerprint"] = (stamp, h.hexdigest())
        return cached[1]

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError
