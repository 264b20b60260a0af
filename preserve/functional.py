"""Stateless loss functions used by the built-in plugins.

Each returns one value per sample. Reductions and Gram matrices are done in
float32 even under bf16 autocast (bf16 sums of this size lose the signal), or
in float64 when that is what they are given.
"""

from __future__ import annotations

import torch


def _wide(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32, or as it is when it is already float64."""
    return t if t.dtype == torch.float64 else t.float()


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``F F^T / (C H W)`` of ``(B, C, H, W)`` features, in float32.

    Examples:
        >>> gram_matrix(torch.ones(1, 2, 3, 3))
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    b, c, h, w = features.shape
    f = _wide(features).reshape(b, c, h * w)
    with torch.autocast(device_type=f.device.type, enabled=False):
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def per_sample_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference per sample, in float32: shape ``(B,)``.

    Examples:
        >>> per_sample_mse(torch.zeros(2, 4), torch.tensor([[1.0, 1, 1, 1], [2, 0, 0, 0]]))
        tensor([1., 1.])
    """
    diff = _wide(a) - _wide(b)
    return diff.pow(2).flatten(1).mean(dim=1)


def total_variation(images: torch.Tensor, power: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Absolute (power 1) or squared (power 2) neighbour differences per sample: their mean over each
    direction (``mean``, summed over the two directions), or their plain sum (``sum``).

    Examples:
        >>> ramp = torch.arange(4.0).expand(1, 1, 2, 4)  # each row 0 1 2 3
        >>> total_variation(ramp), total_variation(ramp, reduction="sum")
        (tensor([1.]), tensor([6.]))
    """
    x = _wide(images)
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs()
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs()
    if power != 1.0:
        dh, dw = dh.pow(power), dw.pow(power)
    if reduction == "sum":
        return dh.flatten(1).sum(dim=1) + dw.flatten(1).sum(dim=1)
    return _mean_or_zero(dh) + _mean_or_zero(dw)


def _mean_or_zero(t: torch.Tensor) -> torch.Tensor:
    """Per-sample mean that is 0, not NaN, for an empty tensor (a 1-pixel-wide image)."""
    flat = t.flatten(1)
    return flat.sum(dim=1) / max(flat.shape[1], 1)
