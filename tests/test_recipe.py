"""Recipes: construction from Python and files, one shared encoder pass, per-term output."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from helpers import STARRY_NIGHT, STYLES
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


def test_content_features_given_once_skip_the_content_pass_and_change_nothing(vgg19):
    """Features from encode_content, broadcast over a batch of several stylized versions of one photo, give the
    same losses as encoding that photo for each, with no encoder pass on the content; a layer missing is named."""
    recipe = Recipe(vgg19, content={"layers": ["relu2_2", "relu3_3"]},
                    style={"image": str(STARRY_NIGHT), "size": 64}, tv=1.0)
    g = torch.Generator().manual_seed(5)
    photo, stylized = torch.rand(1, 3, 32, 32, generator=g), torch.rand(3, 3, 32, 32, generator=g)
    features = recipe.encode_content(photo)
    assert set(features) == {"relu2_2", "relu3_3"} and not any(f.requires_grad for f in features.values())
    expected = recipe(stylized, photo.expand(3, -1, -1, -1))
    calls = _counting(recipe.encoder)
    try:
        given_once = recipe(stylized, photo.expand(3, -1, -1, -1), content_features=features)
    finally:
        del recipe.encoder.forward
    assert [layers for layers, _ in calls] == [frozenset({"relu1_2", "relu2_2", "relu3_3", "relu4_3"})]
    for name in expected.raw:
        torch.testing.assert_close(given_once.raw[name], expected.raw[name])
    with pytest.raises(ValueError, match="relu3_3"):
        recipe(stylized, photo, content_features={"relu2_2": features["relu2_2"]})


def test_a_photo_against_itself_takes_one_encoder_pass(vgg19):
    """encode gives every layer the recipe reads in one pass; as both content_features and stylized_features it
    scores a photo against itself (a style ratio's denominator) as encoding it twice does; a missing layer is named."""
    recipe = Recipe(vgg19, content={"layers": ["relu2_2"]}, style={"image": str(STARRY_NIGHT), "size": 64}, tv=1.0)
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    expected = recipe(photo, photo)
    calls = _counting(recipe.encoder)
    try:
        features = recipe.encode(photo)
        once = recipe(photo, photo, content_features=features, stylized_features=features)
    finally:
        del recipe.encoder.forward
    assert [layers for layers, _ in calls] == [frozenset({"relu1_2", "relu2_2", "relu3_3", "relu4_3"})]
    assert float(expected.raw["style"][0]) > 0
    for name in expected.raw:
        torch.testing.assert_close(once.raw[name], expected.raw[name])
    with pytest.raises(ValueError, match="stylized_features lacks layer"):
        recipe(photo, photo, stylized_features={"relu2_2": features["relu2_2"]})


def test_the_shared_pass_gives_what_each_term_gives_alone(vgg19):
    """One recipe (one encoder pass for all) against three one-term recipes with weight 1: same per-image values,
    and the total is the batch mean of the weighted sum."""
    style = {"image": str(STARRY_NIGHT), "size": 64}
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    weights = {"content": 2.0, "style": 0.5, "tv": 30.0}
    together = Recipe(vgg19, content=weights["content"], style={**style, "weight": weights["style"]},
                      tv=weights["tv"])(x, y)
    alone = {name: Recipe(vgg19, **{name: {**(style if name == "style" else {}), "weight": 1.0}})(x, y)
             for name in weights}
    expected_total = 0.0
    for name, w in weights.items():
        per_image = alone[name].raw[name]
        torch.testing.assert_close(together.raw[name], per_image)
        torch.testing.assert_close(together.terms[name], w * per_image)
        expected_total += float((w * per_image).mean())
    assert float(together.total) == pytest.approx(expected_total, rel=1e-5)


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


def test_a_second_recipe_reuses_the_style_targets_unless_the_encoder_weights_differ(vgg19):
    """Gram targets are computed once per process for the same encoder weights, layers and pixels: a second
    recipe on another instance of the same weights runs no encoder pass for its style, and gets equal targets;
    an encoder with one weight changed (a copy, edited in place) computes its own."""
    painting = torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(11))  # pixels no other test uses
    first = Recipe(vgg19, style={"image": painting})
    same_weights = preserve.create_encoder("vgg19")
    calls = _counting(same_weights)
    try:
        second = Recipe(same_weights, style={"image": painting.clone()})
    finally:
        del same_weights.forward
    assert calls == []
    edited = copy.deepcopy(vgg19)
    with torch.no_grad():
        edited.layers.conv1_1.bias += 0.5
    assert edited.fingerprint() != vgg19.fingerprint() == same_weights.fingerprint()
    calls = _counting(edited)
    try:
        third = Recipe(edited, style={"image": painting})
    finally:
        del edited.forward
    assert len(calls) == 1
    for i in range(4):
        target = getattr(first.plugins["style"], f"target_{i}")
        assert torch.equal(getattr(second.plugins["style"], f"target_{i}"), target)
        assert not torch.equal(getattr(third.plugins["style"], f"target_{i}"), target)


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


def test_style_reductions_against_numpy(vgg19):
    """'mean' is mse_loss of the Grams (pytorch/examples); 'sum' is eq. 3's squared Frobenius norm."""
    import numpy as np

    from preserve_plugins.style import StylePlugin

    style = torch.rand(3, 48, 48, generator=torch.Generator().manual_seed(0))
    x = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    feats = vgg19(x, {"relu2_2"})["relu2_2"].double().numpy()
    target = vgg19(style[None], {"relu2_2"})["relu2_2"].double().numpy()[0]

    def gram(f):
        c, h, w = f.shape
        m = f.reshape(c, h * w)
        return m @ m.T / (c * h * w)

    sq = [((gram(f) - gram(target)) ** 2) for f in feats]
    for reduction, expected in (("mean", [s.mean() for s in sq]), ("sum", [s.sum() for s in sq])):
        plugin = StylePlugin(image=style, layers=["relu2_2"], reduction=reduction)
        plugin.setup(vgg19)
        got = plugin(preserve.LossContext(x, x, {"relu2_2": vgg19(x, {"relu2_2"})["relu2_2"]}))
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3)
    with pytest.raises(ValueError, match="reduction"):
        StylePlugin(image=style, reduction="max")


def test_tv_sum_on_0_255_pixels_against_numpy():
    import numpy as np

    x = torch.rand(2, 3, 9, 7, generator=torch.Generator().manual_seed(2))
    tv = preserve.create("tv", reduction="sum", pixel_range=255)
    y = x.double().numpy() * 255
    expected = [np.abs(np.diff(i, axis=1)).sum() + np.abs(np.diff(i, axis=2)).sum() for i in y]
    np.testing.assert_allclose(tv(preserve.LossContext(x, x)).numpy(), expected, rtol=1e-5)


def test_per_style_weights_scale_each_image_by_its_own_style(vgg19):
    """A multi-style term with ``style_weights``: each image's loss is its style's weight times the unweighted loss,
    whether the weights come by name or as a list, and the styles without a weight keep 1."""
    images = [str(STARRY_NIGHT), str(STYLES / "the_scream.jpg")]
    base = {"image": images, "size": 64, "per_style": True}
    g = torch.Generator().manual_seed(5)
    x, y = torch.rand(4, 3, 32, 32, generator=g), torch.rand(4, 3, 32, 32, generator=g)
    which = torch.tensor([0, 1, 1, 0])
    plain = Recipe(vgg19, style=base)(x, y, style=which).raw["style"]
    for weights in ({"the_scream": 2.5}, [1.0, 2.5]):
        weighted = Recipe(vgg19, style={**base, "style_weights": weights})(x, y, style=which).raw["style"]
        torch.testing.assert_close(weighted, plain * torch.tensor([1.0, 2.5, 2.5, 1.0]))


@pytest.mark.parametrize("options, match", [
    ({"style_weights": {"nope": 2}}, "unknown style"),
    ({"style_weights": [1.0]}, r"one number per style \(2\)"),
    ({"style_weights": {"the_scream": -1}}, "non-negative"),
    ({"style_weights": {"the_scream": "x"}}, "must be numbers"),
    ({"style_weights": [1.0, 2.0], "per_style": False}, "multi-style network"),
])
def test_bad_per_style_weights_are_named(options, match):
    images = [str(STARRY_NIGHT), str(STYLES / "the_scream.jpg")]
    with pytest.raises(ValueError, match=match):
        preserve.create("style", image=images, size=32, **{"per_style": True, **options})


@settings(max_examples=6, deadline=None)
@given(factors=st.lists(st.floats(0, 4, allow_nan=False), min_size=2, max_size=2),
       which=st.lists(st.integers(0, 1), min_size=1, max_size=4), name_both=st.booleans())
def test_weight_per_style_multiplies_a_terms_weight_for_its_styles_images(vgg19, factors, which, name_both):
    """``weight_per_style``: a term's weighted loss is raw x weight x the factor of each image's style (named
    styles; the others keep 1); the raw loss and the other terms do not change; the recipe round-trips it."""
    style = {"image": [str(STARRY_NIGHT), str(STYLES / "the_scream.jpg")], "size": 32, "per_style": True}
    named = {"starry_night": factors[0], "the_scream": factors[1]} if name_both else {"the_scream": factors[1]}
    recipe = Recipe(vgg19, style=style, tv={"weight": 3.0, "weight_per_style": named})
    x = torch.rand(len(which), 3, 16, 16, generator=torch.Generator().manual_seed(len(which)))
    out = recipe(x, x, style=torch.tensor(which))
    expected = torch.tensor([named.get(name, 1.0) for name in ("starry_night", "the_scream")])[torch.tensor(which)]
    torch.testing.assert_close(out.terms["tv"], out.raw["tv"] * 3.0 * expected)
    torch.testing.assert_close(out.terms["style"], out.raw["style"] * recipe.weights["style"])
    assert Recipe.from_dict(recipe.to_dict()).to_dict()["tv"]["weight_per_style"] == named


@pytest.mark.parametrize("terms, match", [
    ({"tv": {"weight_per_style": {"nope": 2}}}, "unknown style"),
    ({"tv": {"weight_per_style": {"the_scream": -1}}}, "non-negative"),
    ({"tv": {"weight_per_style": [1, 2]}}, "mapping of style names"),
    ({"style": {"image": str(STARRY_NIGHT), "size": 32}, "tv": {"weight_per_style": {"starry_night": 2}}},
     "holds one style"),
])
def test_bad_weight_per_style_is_named(vgg19, terms, match):
    style = {"image": [str(STARRY_NIGHT), str(STYLES / "the_scream.jpg")], "size": 32, "per_style": True}
    with pytest.raises(RecipeError, match=match):
        Recipe(vgg19, **{"style": style, **terms})
