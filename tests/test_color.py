"""Colour preservation: the chroma loss and luminance-only stylizing."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kornia.color import rgb_to_yuv, yuv_to_rgb

import preserve
from helpers import PHOTOS, STARRY_NIGHT
from preserve.color import chroma, luminance_only
from preserve.imageio import load_image
from preserve.plugin import LossContext


def _images(seed: int, b: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.25 + 0.5 * torch.rand(b, 3, 20, 20, generator=g)  # away from 0 and 1, so no clipping below


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), gain=st.floats(0.6, 1.2), blur=st.sampled_from([0.0, 1.0, 2.0]))
def test_luminance_changes_cost_nothing_and_colour_changes_do(seed, gain, blur):
    plugin = preserve.create("color", blur_sigma=blur)
    x = _images(seed)
    yuv = rgb_to_yuv(x)
    relit = yuv_to_rgb(torch.cat([yuv[:, :1] * gain, yuv[:, 1:]], dim=1))  # same chroma, other brightness
    assert torch.all(plugin(LossContext(x, x)) == 0)
    assert torch.all(plugin(LossContext(relit, x)) < 1e-10)
    recoloured = x.clone()
    recoloured[0] = x[0].flip(0)  # swap red and blue in the first image only
    loss = plugin(LossContext(recoloured, x))
    assert loss.shape == (2,) and loss[0] > 1e-4 and loss[1] == 0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_luminance_only_takes_luminance_from_one_and_chroma_from_the_other(seed):
    stylized, original = _images(seed), _images(seed + 1)
    out = luminance_only(stylized, original)
    # Some luminance/chroma pairs fall outside the RGB cube and are clipped; compare the others.
    inside = ((out > 0) & (out < 1)).all(dim=1, keepdim=True)
    assert inside.float().mean() > 0.5
    y_diff = (rgb_to_yuv(out)[:, :1] - rgb_to_yuv(stylized)[:, :1]).abs()
    uv_diff = (chroma(out) - chroma(original)).abs()
    assert float(y_diff[inside].max()) < 1e-4
    assert float(uv_diff[inside.expand_as(uv_diff)].max()) < 1e-4


def test_color_term_in_a_recipe_and_stylize_preserve_color(tmp_path):
    recipe = preserve.Recipe(content=1.0, style={"image": str(STARRY_NIGHT), "size": 64}, color=2.0e6)
    img = load_image(PHOTOS / "red_panda.jpg", max_side=64).rgb[None]
    bluish = (img * torch.tensor([0.5, 0.8, 1.2]).view(1, 3, 1, 1)).clamp(0, 1).requires_grad_(True)
    out = recipe(bluish, img)
    assert float(out.raw["color"][0].detach()) > 0
    out.total.backward()
    assert bluish.grad.abs().sum() > 0

    from preserve.models.transformer_net import TransformerNet
    from preserve.stylize import stylize

    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=1).eval()
    report = stylize(net, [PHOTOS / "red_panda.jpg"], tmp_path, preserve_color=True, progress=False)
    result = load_image(report.written[0]).rgb[None]
    source = load_image(PHOTOS / "red_panda.jpg").rgb[None]
    # Chroma follows the photo up to 8-bit rounding, wherever the new luminance did not clip.
    inside = ((result > 0.02) & (result < 0.98)).all(dim=1, keepdim=True).expand(-1, 2, -1, -1)
    assert inside.float().mean() > 0.3
    assert float((chroma(result) - chroma(source)).abs()[inside].mean()) < 0.01
