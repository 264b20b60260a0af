"""preserve recipe explain: each term measured on a real photo, checked against the same numbers computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import PHOTOS, STARRY_NIGHT
from preserve import Recipe
from preserve.cli import main
from preserve.explain import explain
from preserve.imageio import fit_size, load_image, resize
from preserve.models.transformer_net import TransformerNet


def test_explain_measures_each_term_on_the_start_of_training(tmp_path, capsys, vgg19):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"content: 1.0\nstyle: {{weight: 0.2, image: {STARRY_NIGHT}, size: 64}}\ntv: 3.0e4\n")
    assert main(["recipe", "explain", str(recipe), "--image", str(PHOTOS / "dog.jpg"), "--size", "64",
                 "--json"]) == 0
    rows = {r["term"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"content", "style", "tv"}
    assert rows["style"]["layers"] == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]

    # By hand: the untrained network (seed 0) on the photo at 64 px; TV in numpy, content from VGG-19 features.
    src = load_image(PHOTOS / "dog.jpg").rgb
    content = resize(src, fit_size(tuple(src.shape[-2:]), 64))[None]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = TransformerNet().eval()
    with torch.no_grad():
        out = net(content).clamp(0, 1)
        a, b = vgg19(out, {"relu2_2"})["relu2_2"], vgg19(content, {"relu2_2"})["relu2_2"]
    y = out[0].numpy().astype(np.float64)
    tv = np.abs(np.diff(y, axis=1)).mean() + np.abs(np.diff(y, axis=2)).mean()
    assert rows["tv"]["raw"] == pytest.approx(tv, rel=1e-4)
    assert rows["tv"]["weighted"] == pytest.approx(3.0e4 * tv, rel=1e-4)
    assert rows["content"]["raw"] == pytest.approx(float(((a - b) ** 2).mean()), rel=1e-4)
    assert rows["style"]["weighted"] == pytest.approx(0.2 * rows["style"]["raw"], rel=1e-5) and rows["style"]["raw"] > 0

    built = Recipe.from_file(recipe)
    torch.manual_seed(123)
    rng_before = torch.random.get_rng_state()
    explain(built, PHOTOS / "dog.jpg", size=64)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the caller's RNG is left as it was

    assert main(["recipe", "explain", str(recipe), "--image", str(PHOTOS / "dog.jpg"), "--size", "64"]) == 0
    text = capsys.readouterr().out
    assert "encoder: vgg19" in text and "share" in text and "relu4_3" in text
