"""The face_tone plugin: CIELAB distance of face regions, checked against the CIE formulas written out here,
on real detections, and in a real training run beside the face term."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from helpers import PHOTOS, small_recipe
from preserve.faces.detections import FaceBatch
from preserve.faces.index import INDEX_NAME
from preserve.imageio import load_image
from preserve.plugin import LossContext
from preserve.train import TrainConfig, Trainer

BOX = torch.tensor([[16.0, 12.0, 48.0, 52.0]])


def _faces(boxes: torch.Tensor = BOX, image_index: list[int] | None = None, batch: int = 1,
           score: float = 0.99) -> FaceBatch:
    n = len(boxes)
    return FaceBatch(torch.tensor(image_index or [0] * n), boxes, torch.zeros(n, 5, 2), torch.full((n,), score), batch)


def cie_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> CIE L*a*b* (D65), from the sRGB and CIE 1976 definitions."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = m @ linear / np.array([0.950456, 1.0, 1.088754])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


colours = st.tuples(*[st.floats(0.05, 0.95)] * 3)


@settings(max_examples=30, deadline=None)
@given(before=colours, after=colours, lightness=st.sampled_from([0.0, 0.5, 1.0]), chroma=st.sampled_from([0.5, 1.0]))
def test_a_recoloured_face_costs_its_weighted_delta_e_squared(before, after, lightness, chroma):
    """A face region of one flat colour painted another: the term is the weighted squared Lab difference."""
    content, stylized = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    content[..., 4:60, 4:60] = torch.tensor(before)[:, None, None]
    stylized[..., 4:60, 4:60] = torch.tensor(after)[:, None, None]
    tone = preserve.create("face_tone", lightness=lightness, chroma=chroma, share=0.8)  # centre of BOX: inside the patch
    diff = cie_lab(np.array(after)) - cie_lab(np.array(before))
    expected = lightness * diff[0] ** 2 + chroma * (diff[1] ** 2 + diff[2] ** 2)
    got = float(tone(LossContext(stylized, content, inputs={"faces": _faces()})))
    assert got == pytest.approx(expected, rel=2e-3, abs=2e-2)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), outside=st.floats(-0.5, 0.5))
def test_only_the_face_regions_count(seed, outside):
    g = torch.Generator().manual_seed(seed)
    content = torch.rand(2, 3, 64, 64, generator=g)
    tone = preserve.create("face_tone", share=1.0, min_face_size=8)
    faces = _faces(torch.tensor([[10.0, 10.0, 30.0, 30.0]]), batch=2)
    changed = content.clone()
    changed[..., 40:, :] = (changed[..., 40:, :] + outside).clamp(0, 1)  # below the face
    changed[1] = torch.rand(3, 64, 64, generator=g)  # the image without a face
    assert tone(LossContext(changed, content, inputs={"faces": faces})).abs().max() < 1e-4
    changed[0, :, 15:25, 15:25] = 1 - changed[0, :, 15:25, 15:25]  # inside the face
    out = tone(LossContext(changed, content, inputs={"faces": faces}))
    assert out[0] > 1.0 and out[1] == 0


def test_lightness_and_chroma_weigh_their_own_channels():
    grey = torch.full((1, 3, 64, 64), 0.6)
    faces = _faces()
    darker = LossContext(grey * 0.5, grey, inputs={"faces": faces})  # grey stays grey: L* only
    assert float(preserve.create("face_tone", lightness=0.0)(darker)) < 1e-4
    assert float(preserve.create("face_tone", chroma=0.0)(darker)) > 100
    purple = grey.clone()
    purple[:, 1] = 0.3
    assert float(preserve.create("face_tone", chroma=0.0)(LossContext(purple, grey, inputs={"faces": faces}))) \
        < float(preserve.create("face_tone", lightness=0.0)(LossContext(purple, grey, inputs={"faces": faces})))


def test_small_unconfident_and_off_image_faces_are_skipped_and_counted():
    x, y = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    tone = preserve.create("face_tone", min_face_size=20, min_score=0.9)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 50.0, 50.0], [70.0, 70.0, 110.0, 110.0]])
    out = tone(LossContext(x, y, inputs={"faces": _faces(boxes)}))
    assert out[0] > 0
    assert tone.stats() == {"faces": 1.0, "faces_small": 1.0}
    assert float(tone(LossContext(x, y, inputs={"faces": _faces(BOX, score=0.5)}))) == 0  # unconfident
    empty = FaceBatch(torch.zeros(0, dtype=torch.long), torch.zeros(0, 4), torch.zeros(0, 5, 2), torch.zeros(0), 1)
    assert float(tone(LossContext(x, y, inputs={"faces": empty}))) == 0


def test_gradients_are_finite_on_black_white_and_out_of_range_pixels():
    content = torch.rand(1, 3, 64, 64)
    stylized = torch.cat([torch.zeros(1, 3, 64, 32), torch.ones(1, 3, 64, 32)], dim=3) * 1.2 - 0.1
    stylized[..., 20:40, 20:40] = 0.5
    stylized.requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = preserve.create("face_tone")(LossContext(stylized, content, inputs={"faces": _faces()}))
    out.sum().backward()
    assert out.dtype == torch.float32 and torch.isfinite(stylized.grad).all() and stylized.grad.abs().sum() > 0


@pytest.mark.parametrize("options", [{"lightness": 0, "chroma": 0}, {"chroma": -1}, {"share": 0}, {"share": 1.5},
                                     {"size": 1}, {"blur_sigma": -1}])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError, match="face_tone"):
        preserve.create("face_tone", **options)


@pytest.mark.slow
def test_a_darkened_face_on_a_real_photo_costs_and_the_photo_itself_does_not():
    tone = preserve.create("face_tone")
    img = load_image(PHOTOS / "grace_hopper.jpg").rgb[None]
    faces = FaceBatch.from_list([tone.index.detect_file(PHOTOS / "grace_hopper.jpg")])
    assert len(faces) == 1
    assert float(tone(LossContext(img, img, inputs={"faces": faces}))) == 0
    darker = img.clone()
    x1, y1, x2, y2 = faces.boxes[0].round().int().tolist()
    darker[..., y1:y2, x1:x2] *= 0.6
    assert float(tone(LossContext(darker, img, inputs={"faces": faces}))) > 50  # L* falls by well over 7


@pytest.mark.slow
def test_training_with_face_and_face_tone_detects_once_and_logs_both(tmp_path, photo_dir):
    shutil.copy(PHOTOS / "grace_hopper.jpg", photo_dir / "grace_hopper.jpg")
    recipe = small_recipe(64)
    recipe["face"] = {"weight": 1.0e5, "min_face_size": 8}
    recipe["face_tone"] = {"weight": 30.0, "min_face_size": 8}
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=recipe, image_size=96,
                         batch_size=3, steps=2, workers=0, progress=False, log_every=1, preview_every=1000)
    Trainer(config).fit()
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("face_tone" in ln and "face_tone_faces" in ln for ln in lines)
    assert sum(ln["face_tone_faces"] for ln in lines) >= sum(ln["face_faces"] for ln in lines) >= 1
    assert sorted(p.name for p in photo_dir.glob(".preserve-*")) == [INDEX_NAME]  # one index for both terms
