"""Frozen networks: the loss network, face embedders and detectors never train."""

from __future__ import annotations

from typing import TypeVar

from torch import nn

M = TypeVar("M", bound=nn.Module)


def freeze(module: M) -> M:
    """Put ``module`` in eval mode and stop gradients into its parameters; returns it."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class Frozen(nn.Module):
    """Base of modules that stay frozen: :meth:`freeze` once, and ``train()`` never leaves eval mode."""

    def freeze(self: M) -> M:
        return freeze(self)

    def train(self, mode: bool = True) -> "Frozen":
        return super().train(False)
