"""Recipes: construction from Python and files, one shared encoder pass, per-term output."""

from __future__ import annotations

import pytest
import torch

import preserve
from conftest import STARRY_NIGHT
from preserve import Recipe, RecipeError


def _counting(encoder):
    calls = []
    original = encoder.forward

    def forward(images, layers):
        calls.append((frozenset(layers), torch.is_grad_enabled()))
        return original(images, layers)

    encoder.forward = forward
    return calls


def test_one_encoder_pass_per_batch_for_the_union_of_layers(vgg19):
    recipe = Recipe(vgg19, content={"layers": ["relu2_2", "relu3_3"]},
                    style={"image": str(STARRY_NIGHT), "size": 64}, tv=1.0)
    calls = _counting(recipe.encoder)
    try:
        out = recipe(torch.rand(2, 3, 32, 32, requires_grad=True), torch.rand(2, 3, 32, 32))
    finally:
        del recipe.encoder.forward
    assert calls == [
        (frozenset({"relu1_2", "relu2_2", "relu3_3", "relu4_3"}), True),  # stylized, with grad
        (frozenset({"relu2_2", "relu3_3"}), False),  # content, without grad
    ]
    assert set(out.terms) == {"content", "style", "tv"}
    assert all(v.shape == (2,) for v in out.terms.values())
    torch.testing.assert_close(out.total, torch.stack(list(out.terms.values())).sum(0).mean())
    for name, w in recipe.weights.items():
        torch.testing.assert_close(out.terms[name], out.raw[name] * w)


def test_style_targets_are_cached_buffers(vgg19):
    recipe = Recipe(vgg19, style={"image": str(STARRY_NIGHT), "size": 64})
    style = recipe.plugins["style"]
    before = style.target_0.clone()
    calls = _counting(recipe.encoder)
    try:
        recipe(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    finally:
        del recipe.encoder.forward
    assert len(calls) == 1  # no content layers needed, and the style image is not re-encoded
    assert torch.equal(before, style.target_0)


def test_style_loss_zero_for_the_style_image_itself(vgg19):
    recipe = Recipe(vgg19, style={"image": str(STARRY_NIGHT), "size": 64})
    img = recipe.plugins["style"].images[0][None]
    out = recipe(img, torch.rand_like(img))
    assert float(out.raw["style"][0]) < 1e-6 * float(recipe(torch.rand_like(img), img).raw["style"][0])


def test_recipe_from_yaml_and_toml_with_relative_paths(tmp_path, vgg19):
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "s.jpg").write_bytes(STARRY_NIGHT.read_bytes())
    (tmp_path / "r.yaml").write_text(
        "encoder: vgg19\ncontent: 2.0\nstyle:\n  weight: 3.0\n  image: styles/s.jpg\n  size: 64\n"
        "fine:\n  plugin: style\n  image: styles/s.jpg\n  layers: [relu1_2]\n  size: 64\ntv: null\n"
        "brightness: false\n"
    )
    (tmp_path / "r.toml").write_text('content = 2.0\n[style]\nweight = 3.0\nimage = "styles/s.jpg"\nsize = 64\n')
    r = Recipe.from_file(tmp_path / "r.yaml")
    assert r.weights == {"content": 2.0, "style": 3.0, "fine": preserve.plugin_card("style").default_weight}
    assert r.to_dict()["fine"]["plugin"] == "style"
    assert r.to_dict()["style"]["image"] == str((tmp_path / "styles" / "s.jpg").resolve())
    (tmp_path / "w.yaml").write_text("content: 1.0e5\ntv: 3.0e4\n")  # YAML 1.1 reads the second as a string
    assert Recipe.from_file(tmp_path / "w.yaml").weights == {"content": 1e5, "tv": 3e4}
    t = Recipe.from_file(tmp_path / "r.toml")
    assert t.weights == {"content": 2.0, "style": 3.0}
    rebuilt = Recipe.from_dict(r.to_dict())
    assert rebuilt.weights == r.weights


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("content: [1, 2\n", "not a valid"),
        ("- just a list\n", "mapping"),
        ("contnet: 1.0\n", "Did you mean 'content'"),
        ("content: {weight: heavy}\n", "weight must be a number"),
        ("content: heavy\n", "expected a weight"),
        ("content: {layers: [relu2_2], colour: red}\n", "unexpected keyword"),
        ("encoder: vgg19\n", "at least one term"),
    ],
)
def test_bad_recipe_files_give_clear_errors(tmp_path, text, match):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(RecipeError, match=match):
        Recipe.from_file(tmp_path / "bad.yaml")


def test_unknown_encoder_layer_is_reported(vgg19):
    with pytest.raises(ValueError, match="relu7_1"):
        Recipe(vgg19, content={"layers": ["relu7_1"]})


def test_unknown_encoder_name():
    with pytest.raises(preserve.UnknownNameError, match="vgg19"):
        Recipe("vgg91", tv=1.0)
