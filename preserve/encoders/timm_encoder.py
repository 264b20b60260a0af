"""Any timm model used as a loss network through ``features_only``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch

from .base import Encoder


class TimmEncoder(Encoder):
    """A timm backbone with ``features_only=True``; layers are named ``stage{i}``.

    The weights must be on disk (``path``): timm is never asked to download.
    """

    name = "timm"

    def __init__(self, model: str, path: str | os.PathLike[str], out_indices: tuple[int, ...] | None = None) -> None:
        super().__init__()
        import timm  # imported here: only this encoder needs it

        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"timm weights for {model!r} not found at {source}; preserve never downloads them")
        kwargs = {"features_only": True, "pretrained": False}
        if out_indices is not None:
            kwargs["out_indices"] = out_indices
        self.net = timm.create_model(model, **kwargs)
        state = torch.load(source, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        missing, _ = self.net.load_state_dict(state, strict=False)
        if missing:
            raise ValueError(f"{source} does not fit timm model {model!r}: missing {missing[:5]}...")
        cfg = self.net.pretrained_cfg if hasattr(self.net, "pretrained_cfg") else {}
        mean = cfg.get("mean", (0.485, 0.456, 0.406))
        std = cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.layer_names = tuple(f"stage{i}" for i in range(len(self.net.feature_info)))
        self.name = f"timm:{model}"  # type: ignore[misc]
        self.freeze()

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        self.check_layers(wanted)
        feats = self.net((images - self.mean) / self.std)
        return {name: f for name, f in zip(self.layer_names, feats) if name in wanted}


def timm_encoder(*, model: str, path: str, out_indices: tuple[int, ...] | None = None) -> TimmEncoder:
    """Any timm backbone (features_only, layers stage0..N) from a local weights file; never downloads."""
    return TimmEncoder(model, path, out_indices)
