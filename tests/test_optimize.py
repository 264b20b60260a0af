"""Optimisation mode: the recipe's loss goes down on a real photo, face and colour terms included."""

from __future__ import annotations

from PIL import Image

from conftest import PHOTOS, STARRY_NIGHT
from preserve import Recipe
from preserve.cli import main
from preserve.optimize import optimize_file


def test_optimisation_lowers_the_loss_with_face_and_colour_terms():
    recipe = Recipe(content=1.0, style={"weight": 20.0, "image": str(STARRY_NIGHT), "size": 96}, tv=3.0e4,
                    face={"weight": 1.0e5, "min_face_size": 8}, color=1.0e6)
    image, history = optimize_file(recipe, PHOTOS / "grace_hopper.jpg", size=96, steps=12, lr=0.03)
    assert image.shape == (3, 96, 82) and 0 <= float(image.min()) and float(image.max()) <= 1
    assert history[-1] < 0.5 * history[0]
    assert recipe.plugins["face"].stats()["faces"] == 1  # the face term really took part


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
