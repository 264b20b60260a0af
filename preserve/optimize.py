"""Optimisation mode (Gatys et al. 2016): optimise one image's pixels against a recipe, no network trained.

Slower per image than a trained network but needs no training, and it uses the
same plugins: a recipe with ``face``, ``color`` or ``mask`` terms works as it
does in training (their per-image inputs come through the same annotate path).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch

from .annotations import CropTransform
from .imageio import fit_size, load_image, resize
from .recipe import Recipe


def inputs_for(recipe: Recipe, path: str | os.PathLike[str], original_hw: tuple[int, int],
               target_hw: tuple[int, int]) -> dict[str, Any]:
    """The extra inputs the recipe's plugins need for one file shown at ``target_hw``."""
    transform = CropTransform.scaled(original_hw, target_hw)
    inputs: dict[str, Any] = {}
    for name, table in recipe.annotate([str(path)], progress=False).items():
        moved = table[str(path)].transformed(transform)
        inputs[name] = type(moved).collate([moved])
    return inputs


def optimize_image(recipe: Recipe, content: torch.Tensor, inputs: dict[str, Any] | None = None, *, steps: int = 200,
                   lr: float = 0.02, method: str = "adam", bf16: bool = True,
                   callback: Callable[[int, float], None] | None = None) -> tuple[torch.Tensor, list[float]]:
    """Optimise an image (starting from ``content``, ``(3, H, W)`` in [0, 1]); returns it and the loss history."""
    x = content[None].clone().requires_grad_(True)
    target = content[None]
    history: list[float] = []

    def loss_fn() -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            return recipe(x.clamp(0, 1), target, inputs).total

    if method == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=20)
    elif method == "adam":
        opt = torch.optim.Adam([x], lr=lr)
    else:
        raise ValueError(f"unknown method {method!r}; use 'adam' or 'lbfgs'")
    for i in range(steps):
        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            return loss

        loss = opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
        history.append(float(loss.detach()))
        if callback is not None:
            callback(i + 1, history[-1])
    return x.detach()[0], history


def optimize_file(recipe: Recipe, path: str | os.PathLike[str], *, size: int = 384, **kwargs: Any
                  ) -> tuple[torch.Tensor, list[float]]:
    """Load ``path``, scale its longer side to ``size`` and optimise it against ``recipe``."""
    src = load_image(path).rgb
    hw = tuple(src.shape[-2:])
    target_hw = fit_size(hw, size)
    content = resize(src, target_hw)
    return optimize_image(recipe, content, inputs_for(recipe, path, hw, target_hw), **kwargs)
