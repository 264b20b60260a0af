"""Tiled stylizing of large images: no seams, tone shared across tiles, bounded work per tile."""

from __future__ import annotations

import torch

from helpers import PHOTOS
from preserve.imageio import load_image
from preserve.models.transformer_net import TransformerNet
from preserve.tiling import instance_norm_hooks, stylize_tiled


def _net() -> TransformerNet:
    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=2).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def test_tiles_reproduce_the_whole_image_run_with_the_same_statistics():
    net = _net()
    img = load_image(PHOTOS / "colosseum.jpg").rgb[:, :248]  # 248 x 384: the whole-image run upsamples exactly 2x
    tiled = stylize_tiled(net, img, tile=160, overlap=96, stats_side=192)
    small = torch.nn.functional.interpolate(img[None], size=(124, 192), mode="bilinear", antialias=True)
    with torch.no_grad(), instance_norm_hooks(net, None, record=True) as stats:
        net(small.clamp(0, 1))
    with torch.no_grad(), instance_norm_hooks(net, stats, record=False):
        whole = net(img[None])[0]
    diff = (tiled - whole).abs()
    assert tiled.shape == img.shape
    assert float(diff.mean()) < 0.01 and float(diff.max()) < 0.15  # differences only near tile borders, small


def test_no_visible_seams_at_tile_borders():
    net = _net()
    img = load_image(PHOTOS / "great_wall.jpg").rgb
    out = stylize_tiled(net, img, tile=96, overlap=32, stats_side=128).clamp(0, 1)
    # Column-to-column change across a tile boundary is no larger than elsewhere in the image.
    col_steps = (out[:, :, 1:] - out[:, :, :-1]).abs().mean(dim=(0, 1))
    boundary = [x - 1 for x in range(64, out.shape[-1], 64)]
    assert float(col_steps[boundary].max()) < 3 * float(col_steps.median()) + 0.02


def test_hooks_are_removed_afterwards():
    net = _net()
    x = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        before = net(x)
        stylize_tiled(net, x[0], tile=32, overlap=8, stats_side=32)
        after = net(x)
    torch.testing.assert_close(before, after)
