"""preserve recipe explain: each term's weight, layers and share of the loss on a real photo."""

from __future__ import annotations

import json

import pytest

from conftest import PHOTOS, STARRY_NIGHT
from preserve.cli import main


def test_explain_reports_every_term_and_shares_add_up(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"content: 1.0\nstyle: {{weight: 0.2, image: {STARRY_NIGHT}, size: 64}}\ntv: 3.0e4\n")
    assert main(["recipe", "explain", str(recipe), "--image", str(PHOTOS / "dog.jpg"), "--size", "64",
                 "--json"]) == 0
    rows = {r["term"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"content", "style", "tv"}
    assert rows["style"]["layers"] == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0, abs=1e-6)
    for r in rows.values():
        assert r["weighted"] == pytest.approx(r["raw"] * r["weight"], rel=1e-5)
    assert main(["recipe", "explain", str(recipe), "--image", str(PHOTOS / "dog.jpg"), "--size", "64"]) == 0
    text = capsys.readouterr().out
    assert "encoder: vgg19" in text and "share" in text and "relu4_3" in text
