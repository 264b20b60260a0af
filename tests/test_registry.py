"""Registry behaviour: discovery, patterns, unknown names, overrides, broken entry points."""

from __future__ import annotations

import fnmatch
import string
from importlib.metadata import EntryPoint

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from preserve.plugin import LossContext, Plugin, PluginCard
from preserve.registry import PLUGINS, Registry, RegistrationError, UnknownNameError

names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)


def test_builtins_come_from_entry_points():
    assert {"content", "style", "tv", "face", "color", "mask", "stability"} <= set(preserve.list_plugins())
    for name in ("content", "style", "tv", "face", "color", "mask"):
        assert PLUGINS.source(name).startswith("entry point"), "built-ins must not be special-cased in the core"
        card = preserve.plugin_card(name)
        assert card.name == name and card.summary and card.default_weight > 0


def test_pattern_listing_like_timm():
    assert preserve.list_plugins("st*") == ["stability", "style"]
    assert preserve.list_plugins(["cont*", "t?"]) == ["content", "tv"]
    assert preserve.list_plugins("c*") == ["color", "content"]
    assert preserve.list_plugins("nothing-*") == []


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownNameError) as err:
        preserve.create("stlye", image=None)
    msg = str(err.value)
    assert "'stlye'" in msg and "Did you mean 'style'" in msg and "content" in msg


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(names, min_size=1, max_size=8, unique=True), pattern=st.sampled_from(["*", "a*", "*_*", "?"]))
def test_register_round_trip_and_patterns(keys, pattern):
    reg: Registry = Registry("preserve.test-empty-group", "thing")
    for i, k in enumerate(keys):
        reg.add(k, lambda i=i, **kw: (i, kw))
    assert reg.names() == sorted(keys)
    assert reg.names(pattern) == sorted(k for k in keys if fnmatch.fnmatchcase(k, pattern))
    for i, k in enumerate(keys):
        assert reg.create(k, x=1) == (i, {"x": 1})
    with pytest.raises(RegistrationError):
        reg.add(keys[0], object)
    reg.add(keys[0], lambda **kw: "new", override=True)
    assert reg.create(keys[0]) == "new"


def test_failing_entry_point_is_reported_not_fatal():
    reg: Registry = Registry("preserve.test-empty-group", "plugin")
    reg._discover()
    reg._load_entry_point(EntryPoint("broken", "preserve_nonexistent_module:Thing", "preserve.test-empty-group"))
    reg.add("fine", dict)
    assert reg.names() == ["fine"]
    assert [f.name for f in reg.failures()] == ["broken"]
    with pytest.raises(UnknownNameError, match="failed to import.*ModuleNotFoundError"):
        reg.get("broken")


class Brightness(Plugin):
    """Keeps the mean brightness of the content image."""

    card = PluginCard(name="test_brightness", summary="mean brightness", default_weight=2.0)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        return (ctx.stylized.mean(dim=(1, 2, 3)) - ctx.content.mean(dim=(1, 2, 3))).pow(2)


def test_in_process_plugin_is_usable_in_a_recipe_by_name(vgg19):
    preserve.register()(Brightness)
    try:
        assert "test_brightness" in preserve.list_plugins("test_*")
        with pytest.raises(RegistrationError):
            preserve.register()(Brightness)
        recipe = preserve.Recipe(vgg19, content=1.0, test_brightness={})
        x = torch.rand(2, 3, 32, 32)
        out = recipe(x * 0.5, x)
        assert recipe.weights["test_brightness"] == 2.0  # the card's default weight
        expected = 2.0 * (x.mean(dim=(1, 2, 3)) * 0.5).pow(2)
        torch.testing.assert_close(out.terms["test_brightness"], expected)
    finally:
        PLUGINS.remove("test_brightness")
