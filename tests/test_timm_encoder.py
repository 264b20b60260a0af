"""The timm encoder: a timm backbone from a local weights file as the loss network, checked against the full
model's own layers."""

from __future__ import annotations

import pytest
import torch

import preserve

timm = pytest.importorskip("timm", reason="timm is in the dev extras")


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """A resnet18 with random weights saved as a user's full-model checkpoint (classifier included)."""
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False).eval()
    path = tmp_path_factory.mktemp("timm") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return net, path


def test_stages_match_the_full_model_computed_by_hand(resnet18_file):
    net, path = resnet18_file
    encoder = preserve.create_encoder("timm", model="resnet18", path=str(path))
    assert encoder.layer_names == ("stage0", "stage1", "stage2", "stage3", "stage4")
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = encoder(x, encoder.layer_names)
        h = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(
            1, 3, 1, 1)
        stem = net.act1(net.bn1(net.conv1(h)))
        expected = [stem]
        y = net.maxpool(stem)
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            y = layer(y)
            expected.append(y)
    for name, want in zip(encoder.layer_names, expected):
        torch.testing.assert_close(got[name], want, rtol=1e-4, atol=1e-5, msg=name)
    assert not any(p.requires_grad for p in encoder.parameters())


def test_a_recipe_trains_through_it(resnet18_file):
    _, path = resnet18_file
    recipe = preserve.Recipe({"name": "timm", "model": "resnet18", "path": str(path)},
                             content={"layers": ["stage2"]})
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    out = recipe(x, torch.rand(1, 3, 64, 64))
    out.total.backward()
    assert float(out.total.detach()) > 0 and x.grad.abs().sum() > 0


def test_missing_and_mismatched_weights_are_named(resnet18_file, tmp_path):
    _, path = resnet18_file
    with pytest.raises(FileNotFoundError, match="never downloads"):
        preserve.create_encoder("timm", model="resnet18", path=str(tmp_path / "none.pth"))
    with pytest.raises(ValueError, match="does not fit timm model 'resnet34'"):
        preserve.create_encoder("timm", model="resnet34", path=str(path))
