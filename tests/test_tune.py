"""preserve tune end to end on tiny real data (two candidate weights, a few steps), and its Pareto front."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import PHOTOS, STYLES
from preserve.cli import main
from preserve.tune import pareto_front


@pytest.mark.slow
def test_tune_branches_a_run_and_reports_the_front(tmp_path, capsys):
    data = tmp_path / "train"
    data.mkdir()
    for name in ("grace_hopper.jpg", "person.jpg"):
        shutil.copy(PHOTOS / name, data / name)
    run = tmp_path / "run"
    styles = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    assert main(["train", "--data", str(data), "--style", *styles, "--network", "fast", "--width", "8",
                 "--face", "1e3", "--image-size", "64", "--batch-size", "2", "--steps", "2", "--out", str(run),
                 "--no-progress", "--preview-every", "0", "--no-bf16"]) == 0
    out = tmp_path / "tune"
    assert main(["tune", "--run", str(run), "--out", str(out), "--photos", str(PHOTOS / "astronaut.jpg"),
                 "--weights", "1e4", "1e3", "--steps", "2", "--size", "96", "--judges", "sface", "--styles",
                 "the_scream", "--device", "cpu", "--no-progress"]) == 0
    report = json.loads((out / "tune.json").read_text())
    assert [p["weight"] for p in report["points"]] == [1e3, 1e4]
    assert report["branch_step"] == 2 and report["styles"] == ["the_scream"] and report["faces"] == 1
    for tag in ("none", "1000", "10000"):
        saved = torch.load(out / f"branch-{tag}" / "checkpoints" / "last.pt", weights_only=True)
        assert saved["step"] == 4
        recipe = json.loads((out / f"branch-{tag}" / "config.json").read_text())["recipe"]
        assert ("face" in recipe) == (tag != "none")
        if tag != "none":
            assert recipe["face"]["weight"] == float(tag)
    reaching = [p["weight"] for p in report["points"] if p["meets_goal"]]
    assert report["chosen"] == (min(reaching) if reaching else None)
    for p in report["points"]:
        assert p["meets_goal"] == (p["shares"]["sface"] >= 0.97 and p["style"] <= 1.10)
        assert p["face_delta_e"] > 0  # every branch repaints the astronaut's face somewhat
    assert report["baseline_face_delta_e"] > 0
    printed = capsys.readouterr().out
    assert "Pareto front" in printed and "face colour shift dE" in printed


points = st.lists(st.tuples(st.floats(0, 1), st.floats(0.5, 2)), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(points)
def test_the_pareto_front_is_exactly_the_unbeaten_points(values):
    pts = [{"weight": float(i), "share": s, "style": r} for i, (s, r) in enumerate(values)]
    front = pareto_front(pts)
    for p in pts:
        beaten = any(q["share"] >= p["share"] and q["style"] <= p["style"] and (q["share"], q["style"])
                     != (p["share"], p["style"]) for q in pts)
        assert (p in front) == (not beaten)
    assert front  # a finite set always has an unbeaten point
