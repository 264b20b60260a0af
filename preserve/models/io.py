"""The model-file format: what training writes and stylizing, export and evaluation read.

A model file is a plain ``torch.save`` dict (loads with ``weights_only=True``):
``format``, ``network`` (the registered network name; files written before
networks were registered have none and are ``johnson``), ``state_dict``, the
network's ``config`` (its options, style names included) and the training
``recipe`` (JSON strings), ``steps`` and ``image_size``. :func:`load_model`
also reads a training checkpoint (``checkpoints/*.pt``; the moving average of
its weights, when the run kept one with ``--ema``). It refuses files
that are not model files, weights that are not finite, and settings that do
not fit the weights, each with a :class:`ModelFileError` naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_torch_save
from ..registry import NETWORKS, UnknownNameError

#: A style network: a registered class with ``name``, ``stride`` and ``config()`` (options that rebuild it).
Network = torch.nn.Module


class ModelFileError(ValueError):
    """A file that is not a preserve model."""


MODEL_FORMAT = "preserve.transformer_net/1"


def non_finite(weights: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors in ``weights`` with a NaN or an infinity (a diverged run)."""
    return [k for k, v in weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]


def checkpoint_weights(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a training checkpoint stands for as a model: the moving average of its weights when the
    run kept one (``--ema``), as its ``model.pt`` gets, else its last step's."""
    return checkpoint.get("ema", checkpoint["model"])


def save_model(net: Network, path: str | os.PathLike[str], *, recipe: dict[str, Any] | None = None,
               steps: int = 0, image_size: int | None = None) -> Path:
    """Write a model file that :func:`load_model` (and ``torch.load(..., weights_only=True)``) reads."""
    state = {
        "format": MODEL_FORMAT,
        "network": getattr(net, "name", "johnson"),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
        "config": json.dumps(net.config()),
        "recipe": json.dumps(recipe or {}),
        "steps": steps,
        "image_size": image_size,
    }
    return atomic_torch_save(state, Path(path))


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Network:
    """Load a ``model.pt`` written by training (or a training checkpoint), safely (``weights_only=True``)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"model file not found: {p}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)  # never runs pickled code
    except Exception as exc:  # noqa: BLE001 - a pickle or zip error both mean 'not a model file'
        raise ModelFileError(f"{p}: not a preserve model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise ModelFileError(f"{p}: not a preserve model file")
    if "state_dict" in state:  # final model
        network, config = state.get("network", "johnson"), json.loads(state.get("config", "{}"))
        weights = state["state_dict"]
    elif "model" in state and "config" in state:  # training checkpoint
        network = state.get("network", "johnson")
        if "network_config" in state:
            config = json.loads(state["network_config"])
        else:  # checkpoints written before networks were registered: a TransformerNet of the run's width
            config = {"width": json.loads(state["config"]).get("width", 32)}
        weights = checkpoint_weights(state)
    else:
        raise ModelFileError(f"{p}: not a preserve model file (keys: {sorted(state)[:6]})")
    bad = non_finite(weights)
    if bad:
        raise ModelFileError(f"{p}: non-finite weights in {bad[:3]}{' ...' if len(bad) > 3 else ''} "
                             "(a diverged run?); it would give black images")
    try:
        model = NETWORKS.create(network, **config)
    except UnknownNameError as exc:
        raise ModelFileError(f"{p}: {exc.args[0] if exc.args else exc}") from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{p}: its network settings {config} are not {network!r}'s ({exc})") from None
    try:
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    except (TypeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{p}: its network settings {config} do not fit its weights ({first})") from None
    return model.to(device).eval()
