"""Optimisation mode: each term of a recipe holds back its own quantity on a real photo, compared with the same
run where that term's weight is 0."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from helpers import PHOTOS, STARRY_NIGHT
from preserve import Recipe
from preserve.cli import main
from preserve.imageio import fit_size, load_image, resize
from preserve.optimize import inputs_for, optimize_image
from test_target import centre_box, mean_colour

PORTRAIT = PHOTOS / "grace_hopper.jpg"
# Optimisation starts from the photo, where these terms are 0, and Adam moves every pixel by about lr whatever
# the gradient's size; so a term shows in 10 steps only at weights well above training's (style here is 100x).
TERMS = {
    "face": {"weight": 1.0e5, "min_face_size": 8},
    "color": {"weight": 1.0e9},
    "mask": {"weight": 200.0, "mask_fn": "faces"},
    "middle": {"plugin": "target", "weight": 1.0e8, "detector": centre_box, "embedder": mean_colour,
               "min_size": 4, "crop_size": 16},
}


def _final_raw(weights: dict[str, float], steps: int = 10) -> tuple[dict[str, float], Recipe]:
    """Optimise the portrait at 96 px with every extra term (weights as given) and measure each term's raw value."""
    terms = {name: {**spec, "weight": weights.get(name, 0.0)} for name, spec in TERMS.items()}
    recipe = Recipe(content=1.0, style={"weight": 20.0, "image": str(STARRY_NIGHT), "size": 96}, tv=3.0e4, **terms)
    src = load_image(PORTRAIT).rgb
    hw = tuple(src.shape[-2:])
    content = resize(src, fit_size(hw, 96))
    inputs = inputs_for(recipe, PORTRAIT, hw, tuple(content.shape[-2:]))
    image, history = optimize_image(recipe, content, inputs, steps=steps, lr=0.03)
    assert history[-1] < history[0]
    with torch.no_grad():
        out = recipe(image[None], content[None], inputs)
    return {k: float(v[0]) for k, v in out.raw.items()}, recipe


@pytest.fixture(scope="module")
def without_extra_terms():
    return _final_raw({})[0]


@pytest.mark.parametrize("term", sorted(TERMS))
def test_each_term_holds_back_its_own_quantity(term, without_extra_terms):
    with_term, recipe = _final_raw({term: TERMS[term]["weight"]})
    assert with_term[term] < 0.7 * without_extra_terms[term], (with_term[term], without_extra_terms[term])
    if term in ("face", "middle"):
        stat = "faces" if term == "face" else "targets"
        assert recipe.plugins[term].stats()[stat] == 1  # the term saw the one face / the one centre box


def test_optimising_keeps_the_photo_shape_and_range():
    recipe = Recipe(content=1.0, style={"weight": 20.0, "image": str(STARRY_NIGHT), "size": 96}, tv=3.0e4)
    content = resize(load_image(PORTRAIT).rgb, (96, 82))
    image, _ = optimize_image(recipe, content, steps=2)
    assert image.shape == (3, 96, 82) and 0 <= float(image.min()) and float(image.max()) <= 1


def test_cli_optimize_writes_images_and_names_bad_files(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    Image.open(PHOTOS / "kite.jpg").save(tmp_path / "in" / "kite.png")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"nope")
    code = main(["stylize", "--optimize", "--style", str(STARRY_NIGHT), str(tmp_path / "in"), "--out",
                 str(tmp_path / "out"), "--size", "64", "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 1 and "broken.jpg" in err and "loss" in err
    assert Image.open(tmp_path / "out" / "kite.png").size == (64, 43)
    assert main(["stylize", "--optimize", str(PHOTOS / "kite.jpg"), "--out", str(tmp_path)]) == 2
