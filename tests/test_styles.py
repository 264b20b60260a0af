"""The style models shipped in the package: load safely, stylize a real photo by every style name, on the CLI;
and the catalogue's rules for multi-style files (one name per style, a -faces file's names suffixed)."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import PHOTOS, STYLES

import preserve.styles as styles_module
from preserve.cli import main
from preserve.imageio import load_image
from preserve.models.fast import FastStyleNet
from preserve.models.transformer_net import TransformerNet
from preserve.registry import UnknownNameError
from preserve.styles import (STYLE_DIR, catalogue, list_styles, load_style, ship_model, style_card, style_path,
                             style_summary)
from preserve.stylize import load_model, save_model, stylize_tensor

PAINTINGS = ["cafe_terrace", "composition_viii", "great_wave", "moulin_de_la_galette", "night_cafe", "starry_night",
             "the_scream", "woman_with_fan"]
SHIPPED = sorted(PAINTINGS + [f"{p}-faces" for p in PAINTINGS])


def test_the_model_zoo_ships_every_painting_twice_with_cards():
    assert list_styles() == SHIPPED
    assert list_styles("*-faces") == [f"{p}-faces" for p in PAINTINGS]
    assert {style_path(n) for n in SHIPPED} == {STYLE_DIR / "paintings.pt", STYLE_DIR / "paintings-faces.pt"}
    for name in SHIPPED:
        card = style_card(name)
        assert card.startswith("# paintings") and "public domain" in card and "## Evaluation" in card
        assert style_summary(name)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_with_weights_only_and_stylizes_a_real_photo(name):
    state = torch.load(style_path(name), map_location="cpu", weights_only=True)
    assert {v.dtype for v in state["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    assert "/" not in json.dumps(json.loads(state["recipe"]))  # no path of the training machine ships
    photo = load_image(PHOTOS / "grace_hopper.jpg", max_side=256).rgb
    out = stylize_tensor(load_style(name), photo)
    assert out.shape == photo.shape and torch.isfinite(out).all()
    assert (out - photo).abs().mean() > 0.05  # it paints, it does not copy


def test_stylize_by_style_name_on_the_cli(tmp_path, capsys):
    assert main(["stylize", "--style", "the_scream", str(PHOTOS / "astronaut.jpg"), "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert (tmp_path / "astronaut.png").is_file()
    assert main(["stylize", "--style", "starry_nite", str(PHOTOS / "astronaut.jpg"), "--out", str(tmp_path)]) == 2
    assert "Did you mean 'starry_night'" in capsys.readouterr().err
    assert main(["stylize", "--style", "the_scream", "--model", "x.pt", str(PHOTOS / "astronaut.jpg")]) == 2
    assert main(["stylize", "--style", "the_scream:0.5,starry_night-faces:0.5", str(PHOTOS / "astronaut.jpg"),
                 "--out", str(tmp_path)]) == 2
    assert "one model file" in capsys.readouterr().err
    assert main(["stylize", "--style", "the_scream:0.5,great_wave:0.5", str(PHOTOS / "astronaut.jpg"),
                 "--out", str(tmp_path / "blend"), "--size", "64", "--no-progress"]) == 0


def test_unknown_style_names_close_matches():
    with pytest.raises(UnknownNameError, match="the_scream"):
        style_path("the_scram")
    with pytest.raises(UnknownNameError):
        style_path("../styles/the_scream")


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """A style folder holding a one-style file and a multi-style pair (plain and -faces), as a zoo ships."""
    torch.manual_seed(0)
    save_model(TransformerNet(width=8, residual_blocks=1), tmp_path / "solo.pt")
    for stem in ("pair", "pair-faces"):
        net = FastStyleNet(num_styles=2, width=8, style_names=["wave", "night"])
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.5 * torch.randn_like(p))
        ship_model(save_model(net, tmp_path / f"{stem}-full.pt"), tmp_path / f"{stem}.pt",
                   info={"paintings": {"wave": "Hokusai, The Great Wave", "night": "Van Gogh, The Night Café"}})
        (tmp_path / f"{stem}-full.pt").unlink()
        (tmp_path / f"{stem}.md").write_text(f"# {stem}\n\nTwo paintings, public domain.\n\n## Evaluation\n")
    monkeypatch.setattr(styles_module, "STYLE_DIR", tmp_path)
    return tmp_path


def test_a_multi_style_file_ships_each_style_by_name(zoo):
    assert list_styles() == ["night", "night-faces", "solo", "wave", "wave-faces"]
    assert catalogue()["wave-faces"] == (zoo / "pair-faces.pt", "wave")
    assert style_summary("night-faces") == "Van Gogh, The Night Café (face-preserving)"
    photo = load_image(PHOTOS / "colosseum.jpg", max_side=64).rgb
    wave, night = stylize_tensor(load_style("wave"), photo), stylize_tensor(load_style("night"), photo)
    assert (wave - night).abs().mean() > 1e-3
    reference = load_model(zoo / "pair.pt").set_style("night")
    torch.testing.assert_close(night, stylize_tensor(reference, photo))


def test_blends_of_shipped_styles_on_the_cli(zoo, tmp_path, capsys):
    photo = str(PHOTOS / "astronaut.jpg")
    assert main(["stylize", "--style", "wave-faces:0.5,night-faces:0.5", photo, "--out", str(tmp_path / "b"),
                 "--size", "48", "--no-progress"]) == 0
    assert (tmp_path / "b" / "astronaut.png").is_file()
    assert main(["stylize", "--style", "wave:0.5,night-faces:0.5", photo, "--out", str(tmp_path)]) == 2
    assert "one model file" in capsys.readouterr().err
    assert main(["stylize", "--style", "wave:0.5,solo:0.5", photo, "--out", str(tmp_path)]) == 2


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


def test_ship_model_takes_a_training_checkpoint_of_a_multi_style_run(tmp_path):
    from preserve.train import Trainer, build_config

    data = tmp_path / "data"
    data.mkdir()
    (data / "dog.jpg").write_bytes((PHOTOS / "dog.jpg").read_bytes())
    paintings = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    config = build_config([str(data)], tmp_path / "run", style=paintings, network="fast", width=8, image_size=64,
                          batch_size=1, steps=3, checkpoint_every=1, preview_every=0, progress=False, ema=0.5)
    Trainer(config, device="cpu").fit()
    checkpoint = tmp_path / "run" / "checkpoints" / "last.pt"
    saved = torch.load(checkpoint, weights_only=True)
    shipped = ship_model(checkpoint, tmp_path / "two.pt", info={"steps": saved["step"]})
    state = torch.load(shipped, weights_only=True)
    assert state["steps"] == saved["step"] and "/" not in state["recipe"]
    for name, value in state["state_dict"].items():  # the run's moving average ships, not its last weights
        torch.testing.assert_close(value, saved["ema"][name].half(), msg=name)
    assert any(not torch.allclose(saved["ema"][k], saved["model"][k]) for k in saved["model"])
    net = load_model(shipped)
    assert net.style_names == ["starry_night", "the_scream"]
    x = load_image(PHOTOS / "coffee.jpg", max_side=64).rgb
    reference = load_model(checkpoint)
    for name in net.style_names:
        torch.testing.assert_close(stylize_tensor(net.set_style(name), x),
                                   stylize_tensor(reference.set_style(name), x), atol=2e-2, rtol=0)
