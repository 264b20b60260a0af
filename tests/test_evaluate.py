"""preserve evaluate end to end on shipped photos with two tiny models; the summary agrees with the table."""

from __future__ import annotations

import csv
import json
import statistics

import pytest
import torch
from PIL import Image

from helpers import PHOTOS, STARRY_NIGHT
from preserve.cli import main
from preserve.models.transformer_net import TransformerNet
from preserve.skin import ITA_GROUPS
from preserve.stylize import save_model


def _tiny(path, seed, scale):
    torch.manual_seed(seed)
    net = TransformerNet(width=8, residual_blocks=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn_like(p))
    return save_model(net, path)


SIZE_LIMITS = {"under 32 px": (0, 32), "32-64 px": (32, 64), "64 px and over": (64, float("inf"))}


def width(row: dict[str, str]) -> float:
    x1, _, x2, _ = json.loads(row["box"])
    return x2 - x1


def test_evaluate_end_to_end(tmp_path, capsys):
    a = _tiny(tmp_path / "plain" / "model.pt", 0, 0.3)
    b = _tiny(tmp_path / "gentle" / "model.pt", 1, 0.01)
    photos = [str(PHOTOS / n) for n in ("grace_hopper.jpg", "astronaut.jpg", "red_panda.jpg")]
    pair = [Image.open(PHOTOS / n).convert("RGB").resize((256, 300)) for n in ("grace_hopper.jpg", "astronaut.jpg")]
    two = Image.new("RGB", (512, 300))
    two.paste(pair[0], (0, 0))
    two.paste(pair[1], (256, 0))
    two.save(tmp_path / "two_faces.jpg")  # two faces in one photo: embedded as one batch
    photos.append(str(tmp_path / "two_faces.jpg"))
    (tmp_path / "truncated.jpg").write_bytes((PHOTOS / "dog.jpg").read_bytes()[:300])
    photos.append(str(tmp_path / "truncated.jpg"))
    assert main(["evaluate", "--models", str(a), str(b), "--photos", *photos, "--out", str(tmp_path / "ev"),
                 "--style", str(STARRY_NIGHT), "--size", "192", "--no-latency"]) == 0
    out = tmp_path / "ev"
    for name in ("faces.csv", "faces.json", "summary.json", "histogram.png", "distances.png", "gallery.png"):
        assert (out / name).is_file(), name
    rows = json.loads((out / "faces.json").read_text())
    names = [r["photo"].rsplit("/", 1)[-1] for r in rows]
    assert sorted(names) == ["astronaut.jpg", "grace_hopper.jpg", "two_faces.jpg", "two_faces.jpg"]
    with open(out / "faces.csv") as fh:
        table = list(csv.DictReader(fh))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["faces"] == len(table) == 4
    assert not any("latency_512_ms" in entry for entry in summary["models"].values())  # --no-latency
    assert summary["photos"] == 4 and list(summary["unreadable_photos"]) == [str(tmp_path / "truncated.jpg")]
    assert set(summary["skin_tones"]) <= {name for _, name in ITA_GROUPS}
    assert sum(summary["skin_tones"].values()) == 4
    for model in ("plain", "gentle"):
        shifts = summary["models"][model]["face_colour"]
        assert shifts["delta_e_mean"] == pytest.approx(statistics.mean(float(r[f"{model}/delta_e"]) for r in table))
        for judge in ("sface", "facenet", "insightface"):
            col = [float(r[f"{model}/{judge}"]) for r in table]
            assert summary["models"][model][judge]["mean"] == pytest.approx(statistics.mean(col))
            assert summary["models"][model][judge]["median"] == pytest.approx(statistics.median(col))
        assert summary["models"][model]["style_loss_mean"] > 0
    by_tone = summary["models"]["gentle"]["by_skin_tone"]
    assert sum(g["faces"] for g in by_tone.values()) == 4
    by_size = summary["models"]["gentle"]["by_face_size"]
    assert sum(g["faces"] for g in by_size.values()) == 4 == sum(summary["face_sizes"].values())
    with open(out / "photos.csv") as fh:  # each readable photo's losses, from which the summary's means come
        per_photo = list(csv.DictReader(fh))
    assert sorted((r["photo"].rsplit("/", 1)[-1], int(r["faces"])) for r in per_photo) == [
        ("astronaut.jpg", 1), ("grace_hopper.jpg", 1), ("red_panda.jpg", 0), ("two_faces.jpg", 2)]
    for model in ("plain", "gentle"):
        for term in ("style", "content"):
            column = [float(r[f"{model}/{term}"]) for r in per_photo]
            assert summary["models"][model][f"{term}_loss_mean"] == pytest.approx(statistics.mean(column))
        assert summary["models"][model]["style_ratio"] == pytest.approx(
            sum(float(r[f"{model}/style"]) for r in per_photo) / sum(float(r["photo/style"]) for r in per_photo))
    assert len(by_size) >= 2  # two faces side by side at 192 px are narrower than the single ones
    for judge in ("sface", "facenet", "insightface"):
        better = [float(r[f"gentle/{judge}"]) < float(r[f"plain/{judge}"]) for r in table]
        assert summary["models"]["gentle"][judge]["improved_share_vs_plain"] == pytest.approx(statistics.mean(better))
        for tone, group in by_tone.items():
            members = [b for b, r in zip(better, table) if r["skin_tone"] == tone]
            assert group[judge] == pytest.approx(statistics.mean(members))
        for size, group in by_size.items():
            lo, hi = SIZE_LIMITS[size]
            members = [b for b, r in zip(better, table) if lo <= width(r) < hi]
            assert group[judge] == pytest.approx(statistics.mean(members))
    assert summary["models"]["gentle"]["face_colour"]["delta_e_mean"] \
        < summary["models"]["plain"]["face_colour"]["delta_e_mean"]  # the gentle model barely repaints
    json.loads(capsys.readouterr().out)  # the CLI prints the summary as JSON


def test_the_style_ratio_equals_one_computed_by_hand(tmp_path, capsys):
    """Two photos, one model: mean style loss of the stylized photos over that of the photos themselves."""
    from preserve import Recipe
    from preserve.imageio import fit_size, load_image, resize
    from preserve.models.io import load_model

    model = _tiny(tmp_path / "m" / "model.pt", 0, 0.3)
    photos = [PHOTOS / "dog.jpg", PHOTOS / "kite.jpg"]
    assert main(["evaluate", "--models", str(model), "--photos", *map(str, photos), "--out", str(tmp_path / "ev"),
                 "--style", str(STARRY_NIGHT), "--size", "96", "--judges", "sface"]) == 0
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert "style ratio" in capsys.readouterr().err
    recipe = Recipe(content=1.0, style={"image": str(STARRY_NIGHT), "size": 512})
    net = load_model(model)
    stylized_losses, photo_losses = [], []
    for p in photos:
        img = load_image(p, max_side=96).rgb
        img = resize(img, fit_size(tuple(img.shape[-2:]), 96))[None]
        with torch.no_grad():
            out = net(img).clamp(0, 1)
            stylized_losses.append(float(recipe(out, img).raw["style"][0]))
            photo_losses.append(float(recipe(img, img).raw["style"][0]))
    expected = (sum(stylized_losses) / 2) / (sum(photo_losses) / 2)
    assert summary["models"]["m"]["style_ratio"] == pytest.approx(expected, rel=1e-4)
    assert summary["models"]["m"]["latency_512_ms"] > 0
