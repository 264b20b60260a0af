"""The edges plugin, found through its entry point like any installed plugin."""

from __future__ import annotations

from pathlib import Path

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.registry import PLUGINS

PHOTO = Path(__file__).resolve().parents[3] / "examples" / "data" / "photos" / "colosseum.jpg"


def test_discovered_through_the_entry_point():
    assert "edges" in preserve.list_plugins("ed*")
    assert PLUGINS.source("edges").startswith("entry point (preserve-edges")
    assert preserve.plugin_card("edges").summary


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), b=st.integers(1, 3), value=st.floats(0, 1))
def test_zero_for_identical_and_constant_images_and_per_sample(seed, b, value):
    plugin = preserve.create("edges")
    x = torch.rand(b, 3, 24, 24, generator=torch.Generator().manual_seed(seed))
    assert torch.all(plugin(preserve.LossContext(x, x)) == 0)
    flat = torch.full_like(x, value)
    assert torch.allclose(plugin(preserve.LossContext(flat, flat * 0 + value)), torch.zeros(b))
    y = x.clone()
    y[0] = torch.full_like(y[0], 0.5)
    loss = plugin(preserve.LossContext(y, x))
    assert loss.shape == (b,) and loss[0] > 0 and torch.all(loss[1:] == 0)


def test_in_a_recipe_with_the_real_loss_network():
    from preserve.imageio import load_image

    img = load_image(PHOTO, max_side=96).rgb[None]
    style = (PHOTO.parents[1] / "styles" / "starry_night.jpg")
    recipe = preserve.Recipe(content=1.0, style={"image": str(style), "size": 96}, edges=1.0e5)
    blurred = torch.nn.functional.avg_pool2d(img, 5, 1, 2, count_include_pad=False).requires_grad_(True)
    out = recipe(blurred, img)
    assert set(out.terms) == {"content", "style", "edges"} and float(out.raw["edges"][0].detach()) > 0
    out.total.backward()
    assert blurred.grad.abs().sum() > 0
