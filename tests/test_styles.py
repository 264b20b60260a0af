"""The reference style models shipped in the package: load safely, stylize a real photo, by name on the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import PHOTOS

from preserve.cli import main
from preserve.imageio import load_image
from preserve.models.transformer_net import TransformerNet
from preserve.registry import UnknownNameError
from preserve.styles import list_styles, ship_model, style_card, style_path
from preserve.stylize import load_model, save_model, stylize_tensor

SHIPPED = ["starry_night", "starry_night-faces", "the_scream", "the_scream-faces"]


def test_the_reference_models_ship_with_cards():
    assert list_styles() == SHIPPED
    assert list_styles("*-faces") == ["starry_night-faces", "the_scream-faces"]
    for name in SHIPPED:
        card = style_card(name)
        assert card.startswith(f"# {name}\n") and "public domain" in card and "## Evaluation" in card


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_with_weights_only_and_stylizes_a_real_photo(name):
    state = torch.load(style_path(name), map_location="cpu", weights_only=True)
    assert {v.dtype for v in state["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    assert "/" not in json.dumps(json.loads(state["recipe"]))  # no path of the training machine ships
    photo = load_image(PHOTOS / "grace_hopper.jpg", max_side=256).rgb
    out = stylize_tensor(load_model(style_path(name)), photo)
    assert out.shape == photo.shape and torch.isfinite(out).all()
    assert (out - photo).abs().mean() > 0.05  # it paints, it does not copy


def test_stylize_by_style_name_on_the_cli(tmp_path, capsys):
    assert main(["stylize", "--style", "the_scream", str(PHOTOS / "astronaut.jpg"), "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert (tmp_path / "astronaut.png").is_file()
    assert main(["stylize", "--style", "starry_nite", str(PHOTOS / "astronaut.jpg"), "--out", str(tmp_path)]) == 2
    assert "Did you mean 'starry_night'" in capsys.readouterr().err
    assert main(["stylize", "--style", "the_scream", "--model", "x.pt", str(PHOTOS / "astronaut.jpg")]) == 2


def test_unknown_style_names_close_matches():
    with pytest.raises(UnknownNameError, match="the_scream"):
        style_path("the_scram")
    with pytest.raises(UnknownNameError):
        style_path("../styles/the_scream")


def test_ship_model_halves_the_weights_and_keeps_the_output(tmp_path):
    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=1).eval()
    src = save_model(net, tmp_path / "model.pt", recipe={"style": {"image": "/home/me/art/wave.jpg"}}, steps=7)
    shipped = ship_model(src, tmp_path / "wave.pt", info={"steps": 7})
    state = torch.load(shipped, weights_only=True)
    assert json.loads(state["recipe"]) == {"style": {"image": "wave.jpg"}}
    assert json.loads(state["info"]) == {"steps": 7} and state["steps"] == 7
    assert shipped.stat().st_size < 0.7 * src.stat().st_size
    x = load_image(PHOTOS / "coffee.jpg", max_side=96).rgb
    torch.testing.assert_close(stylize_tensor(load_model(shipped), x), stylize_tensor(net, x), atol=2e-2, rtol=0)
