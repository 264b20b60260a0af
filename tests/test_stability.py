"""The stability plugin: zero for networks that commute with its perturbation, positive otherwise, and it
trains (bf16, resume) through the plugin contract's second network pass."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from helpers import PHOTOS, STARRY_NIGHT
from preserve.plugin import LossContext


def _photos(n=2, size=48):
    from preserve.imageio import load_image, resize

    names = ["dog.jpg", "colosseum.jpg", "astronaut.jpg"][:n]
    return torch.stack([resize(load_image(PHOTOS / name).rgb, (size, size)) for name in names])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), gain=st.floats(0.2, 1.5), offset=st.floats(-0.3, 0.3))
def test_zero_for_networks_that_commute_with_motion(seed, gain, offset):
    torch.manual_seed(seed)
    photo = _photos()
    plugin = preserve.create("stability", noise=0.0, brightness=0.0, shift=0.1, zoom=0.1, rotate=10.0)
    colour_map = lambda x: gain * x + offset  # noqa: E731 - a pointwise affine map commutes with warps
    loss = plugin(LossContext(colour_map(photo), photo, network=colour_map))
    assert loss.shape == (2,) and loss.abs().max() < 1e-8


def test_the_identity_commutes_with_brightness_but_follows_noise():
    photo = _photos()
    identity = lambda x: x  # noqa: E731
    torch.manual_seed(0)
    assert preserve.create("stability", noise=0.0)(LossContext(photo, photo, network=identity)).abs().max() < 1e-8
    noisy = preserve.create("stability", noise=0.05)(LossContext(photo, photo, network=identity))
    assert (noisy > 0.05**2 * 0.5).all()  # it reproduces the noise, which the output should ignore


def test_positive_for_a_network_that_paints_in_place():
    photo = _photos()
    pattern = (torch.arange(48.0).view(1, 1, 1, 48) % 4 < 2).float() * 0.3  # fixed stripes
    painter = lambda x: x + pattern  # noqa: E731 - the stripes do not move with the picture
    torch.manual_seed(0)
    loss = preserve.create("stability", noise=0.0, brightness=0.0)(LossContext(painter(photo), photo, network=painter))
    assert (loss > 1e-3).all()


def test_zero_without_a_network_and_gradients_with_one():
    photo = _photos()
    plugin = preserve.create("stability")
    assert plugin(LossContext(photo, photo)).tolist() == [0.0, 0.0]
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        stylized = net(photo)
        loss = plugin(LossContext(stylized, photo, network=net))
    assert torch.isfinite(loss).all() and loss.dtype == torch.float32
    loss.sum().backward()
    assert net.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("bad", [{"shift": 0.6}, {"zoom": 1.0}, {"noise": -0.1}, {"rotate": float("nan")}])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError, match="stability"):
        preserve.create("stability", **bad)


def test_training_with_stability_resumes(tmp_path):
    from preserve.train import Trainer, build_config

    data = tmp_path / "data"
    data.mkdir()
    for name in ("dog.jpg", "kite.jpg"):
        (data / name).write_bytes((PHOTOS / name).read_bytes())
    recipe = {"encoder": "vgg19", "content": 1.0, "style": {"image": str(STARRY_NIGHT), "size": 64},
              "stability": 1e5}
    out = tmp_path / "run"
    config = build_config([str(data)], out, recipe=recipe, image_size=48, batch_size=2, steps=2, width=8,
                          checkpoint_every=1, preview_every=0, progress=False, bf16=True)
    Trainer(config, device="cpu").fit()
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1]["stability"] > 0
    resumed = build_config(None, out, resume=True, steps=3)
    Trainer(resumed, device="cpu", resume=True).fit()
    saved = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert saved["step"] == 3
