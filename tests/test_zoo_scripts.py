"""The model zoo's scripts: which style weights each run of a stage trains with, and how docs/results.md words a
pair of runs that weighed the styles apart."""

from __future__ import annotations

import sys

from helpers import ROOT

sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "docs")]
import model_zoo  # noqa: E402
from make_results import style_weight_difference  # noqa: E402


def _weights(argv: list[str]) -> dict[str, str]:
    assert argv[0] == "--style-weights"
    return dict(a.split("=") for a in argv[1:])


def test_a_faces_run_takes_its_stages_own_style_weights_and_plain_the_shared_ones():
    plain, faces = _weights(model_zoo.style_weights("plain", 9)), _weights(model_zoo.style_weights("faces-tone", 9))
    assert plain == {"woman_with_fan": "4.5", "great_wave": "1.9", "composition_viii": "1.5", "cafe_terrace": "1.2"}
    assert faces["the_scream"] == "1.44" and faces["woman_with_fan"] == "5.35"
    # a stage without faces_style_weights gives both runs the same weights; stage 5 weighs no style apart
    assert model_zoo.style_weights("plain", 7) == model_zoo.style_weights("faces-tone", 7)
    assert model_zoo.style_weights("faces-tone", 5) == []


def test_stage_10_goes_on_from_what_stage_9_shipped_and_corrects_from_its_ratios():
    assert model_zoo.lineage(10)[-3:] == [7, 9, 10] and model_zoo.STAGE10["from_commit"] == "b93a546"
    plain, faces = _weights(model_zoo.style_weights("plain", 10)), _weights(model_zoo.style_weights("faces-tone", 10))
    # plain's one style over 0.10 weighed harder again; -faces weighs its weaker styles harder than plain does
    assert float(plain["woman_with_fan"]) > 4.5
    assert all(float(faces[name]) > float(plain.get(name, 1)) for name in ("woman_with_fan", "composition_viii"))


def _facts(*stages: dict[str, float]) -> dict:
    return {"stages": [{"config": {"recipe": {"style": {"style_weights": w}}}} for w in stages]}


def test_results_say_where_the_runs_weighed_the_styles_apart():
    plain = _facts({}, {"woman_with_fan": 4.5})
    faces = _facts({}, {"woman_with_fan": 5.35, "the_scream": 1.44})
    text = style_weight_difference({"plain": plain, "faces": faces}, [7, 9])
    assert text.startswith("; and in stage 9 ")
    assert "woman_with_fan 5.35 against plain's 4.5" in text and "the_scream 1.44 against plain's 1" in text
    assert "stage 7" not in text
    assert style_weight_difference({"plain": plain, "faces": plain}, [7, 9]) == ""
