"""``preserve recipe explain``: what each term of a recipe is and how much of the loss it makes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .imageio import fit_size, load_image, resize
from .models.transformer_net import TransformerNet
from .optimize import inputs_for
from .recipe import Recipe


def explain(recipe: Recipe, image: str | os.PathLike[str], model: str | os.PathLike[str] | None = None,
            size: int = 256) -> list[dict[str, Any]]:
    """One row per term: plugin, weight, layers, raw and weighted loss on ``image``, and share of the total.

    The stylized image is ``model``'s output, or without a model the output of an untrained
    TransformerNet (seed 0): the point training starts from.
    """
    from .models.io import load_model

    src = load_image(image).rgb
    hw = tuple(src.shape[-2:])
    target_hw = fit_size(hw, size)
    content = resize(src, target_hw)[None]
    inputs = inputs_for(recipe, image, hw, target_hw)
    if model is not None:
        net = load_model(model)
    else:
        with torch.random.fork_rng(devices=[]):  # seed 0 for the network, without touching the caller's RNG
            torch.manual_seed(0)
            net = TransformerNet().eval()
    with torch.no_grad():
        out = recipe(net(content).clamp(0, 1), content, inputs)
    total = float(out.total)
    rows = []
    for name, plugin in recipe.plugins.items():
        needs = plugin.needs()
        weighted = float(out.terms[name].mean())
        rows.append({
            "term": name, "plugin": plugin.card.name, "weight": recipe.weights[name],
            "layers": sorted(needs.stylized_layers | needs.content_layers), "inputs": sorted(needs.inputs),
            "raw": float(out.raw[name].mean()), "weighted": weighted,
            "share": weighted / total if total else 0.0, "options": plugin.describe(),
        })
    return rows


def format_rows(recipe: Recipe, rows: list[dict[str, Any]], image: str | Path, model: str | None) -> str:
    layers = sorted(recipe.needs.stylized_layers | recipe.needs.content_layers)
    head = [f"encoder: {recipe.encoder.name}; one pass per batch for {', '.join(layers) or 'no layers'}",
            f"measured on {image} stylized by {model or 'an untrained network (the start of training)'}", ""]
    lines = [f"{'term':<12} {'plugin':<9} {'weight':>9} {'raw':>11} {'weighted':>11} {'share':>7}  layers / inputs"]
    for r in rows:
        extra = ", ".join(r["layers"] + [f"input {i}" for i in r["inputs"]]) or "-"
        lines.append(f"{r['term']:<12} {r['plugin']:<9} {r['weight']:>9.3g} {r['raw']:>11.4g} {r['weighted']:>11.4g} "
                     f"{r['share']:>6.1%}  {extra}")
    return "\n".join(head + lines)
