"""Figures: each is written as a PNG, and the data it plots (returned) is the data it was given."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from preserve.plots import plot_distances, plot_histogram, plot_losses, smooth


def test_plot_losses_puts_losses_and_counters_on_their_own_axes(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    records = [{"step": s, "epoch": s / 10, "total": 100.0 / s, "content": 40.0 / s, "style": 60.0 / s,
                "style@wave": 1.0, "face_faces": 1.5, "face_faces_cut": 0.0, "s_per_step": 2.0} for s in (10, 20, 30)]
    metrics.write_text("\n".join(json.dumps(r) for r in records))
    data = plot_losses(metrics, tmp_path / "losses.png")
    assert set(data["losses"]) == {"total", "content", "style"}  # per-style terms stay in the log
    assert data["losses"]["content"] == ([10, 20, 30], [4.0, 2.0, 40.0 / 30])
    assert set(data["counters"]) == {"face_faces"}  # an all-zero counter is left out
    assert data["counters"]["face_faces"] == ([10, 20, 30], [1.5, 1.5, 1.5])
    with Image.open(tmp_path / "losses.png") as img:
        assert img.format == "PNG" and img.width > 400
    (tmp_path / "empty.jsonl").write_text("")
    assert plot_losses(tmp_path / "empty.jsonl", tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_plot_histogram_counts_every_face(tmp_path):
    diffs = [-0.5, -0.2, -0.2, 0.1, 0.0, 0.4]
    data = plot_histogram(diffs, tmp_path / "h.png", model="faces", baseline="plain", judge="facenet", bins=8)
    assert sum(data["counts"]) == len(diffs) and len(data["edges"]) == 9
    assert data["better"] == 3 and data["worse"] == 2
    assert data["edges"][0] == pytest.approx(-0.5) and data["edges"][-1] == pytest.approx(0.5)
    assert (tmp_path / "h.png").stat().st_size > 1000


def test_plot_distances_plots_each_judge_s_pairs(tmp_path):
    rows = [{"plain/sface": 0.8, "faces/sface": 0.5, "plain/facenet": 0.6, "faces/facenet": 0.7},
            {"plain/sface": 1.2, "faces/sface": 0.9, "plain/facenet": 1.0, "faces/facenet": 0.4}]
    data = plot_distances(rows, tmp_path / "d.png", model="faces", baseline="plain", judges=["sface", "facenet"])
    assert data == {"sface": ([0.8, 1.2], [0.5, 0.9]), "facenet": ([0.6, 1.0], [0.7, 0.4])}
    assert (tmp_path / "d.png").is_file()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=80), st.sampled_from([None, 1, 3, 7]))
def test_smoothing_stays_within_the_range_and_keeps_constants(values, window):
    out = smooth(values, window)
    assert len(out) == len(values)
    assert all(min(values) - 1e-6 * (1 + abs(min(values))) <= v <= max(values) + 1e-6 * (1 + abs(max(values)))
               for v in out)
    assert smooth([3.0] * 5, window) == pytest.approx([3.0] * 5)
    assert smooth(values, 1) == values


def test_plot_latency_draws_every_network_and_backend(tmp_path):
    from preserve.plots import plot_latency

    latency = {"johnson": {"512": {"torch_bf16": 380.0, "onnxruntime": 560.0}, "1024": {"torch_bf16": 1900.0}},
               "fast": {"512": {"torch_bf16": 87.0}, "1024": {"torch_bf16": 540.0}}}
    data = plot_latency(latency, tmp_path / "l.png")
    assert data == {"johnson": {"onnxruntime": ([512], [560.0]), "torch_bf16": ([512, 1024], [380.0, 1900.0])},
                    "fast": {"torch_bf16": ([512, 1024], [87.0, 540.0])}}
    assert (tmp_path / "l.png").stat().st_size > 1000
