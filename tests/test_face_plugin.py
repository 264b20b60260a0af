"""The face plugin and the face index: real detections, real embeddings, real training steps."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import preserve
from helpers import PHOTOS, small_recipe
from preserve.annotations import CropTransform
from preserve.data import load_rgb_square
from preserve.faces.index import INDEX_NAME, FaceBatch, Faces, face_index
from preserve.imageio import load_image
from preserve.plugin import LossContext
from preserve.train import TrainConfig, Trainer

pytestmark = pytest.mark.slow  # real weights, fetched and converted into the cache


@pytest.fixture(scope="module")
def face_plugin():
    return preserve.create("face")


@pytest.fixture(scope="module")
def hopper_faces(face_plugin) -> tuple[torch.Tensor, Faces]:
    img = load_image(PHOTOS / "grace_hopper.jpg").rgb
    return img, face_plugin.index.detect_file(PHOTOS / "grace_hopper.jpg")


def _batch(img: torch.Tensor, faces: Faces, size: int = 256) -> tuple[torch.Tensor, FaceBatch]:
    """A centre crop as training would make it, with the faces carried along."""
    h, w = img.shape[-2:]
    scale = size / min(h, w)
    nh, nw = round(h * scale), round(w * scale)
    resized = torch.nn.functional.interpolate(img[None], size=(nh, nw), mode="bilinear", antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    crop = resized[..., top:top + size, left:left + size]
    t = CropTransform(nw / w, nh / h, left, top, size, False)
    return crop, FaceBatch.from_list([faces.transformed(t)])


def test_card_and_listing():
    card = preserve.plugin_card("face")
    assert card.inputs == ("faces",) and "SFace" in card.weights and card.default_weight > 0


def test_identical_images_give_zero_and_changes_give_more(face_plugin, hopper_faces):
    img, faces = hopper_faces
    crop, batch = _batch(img, faces)
    same = face_plugin(LossContext(crop, crop, inputs={"faces": batch}))
    assert same.shape == (1,) and float(same[0]) < 1e-8
    assert face_plugin.stats()["faces"] == 1
    blurred = torch.nn.functional.avg_pool2d(crop, 9, 1, 4, count_include_pad=False)
    other = face_plugin(LossContext(blurred, crop, inputs={"faces": batch}))
    noise = face_plugin(LossContext(torch.rand_like(crop), crop, inputs={"faces": batch}))
    assert 0 < float(other[0]) < float(noise[0])


def test_identical_images_give_zero_under_bf16_autocast(face_plugin, hopper_faces):
    img, faces = hopper_faces
    crop, batch = _batch(img, faces)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        same = face_plugin(LossContext(crop, crop, inputs={"faces": batch}))
    assert float(same[0]) < 1e-8


def test_face_gradient_under_bf16_agrees_with_fp32(face_plugin, hopper_faces):
    img, faces = hopper_faces
    crop, batch = _batch(img, faces)
    blurred = torch.nn.functional.avg_pool2d(crop, 5, 1, 2, count_include_pad=False)
    grads, losses = [], []
    for bf16 in (False, True):
        x = blurred.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = face_plugin(LossContext(x, crop, inputs={"faces": batch}))
        loss.sum().backward()
        grads.append(x.grad.flatten())
        losses.append(float(loss[0].detach()))
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)
    assert float(torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0)) > 0.999


def test_images_without_faces_contribute_zero_and_grads_flow(face_plugin, hopper_faces):
    img, faces = hopper_faces
    crop, with_face = _batch(img, faces)
    panda = load_image(PHOTOS / "red_panda.jpg").rgb
    panda_crop, _ = _batch(panda, Faces.empty())
    content = torch.cat([panda_crop, crop])
    batch = FaceBatch.from_list([Faces.empty(), Faces(boxes=with_face.boxes, scores=with_face.scores,
                                                       landmarks=with_face.landmarks)])
    stylized = (content * 0.7 + 0.15).requires_grad_(True)
    loss = face_plugin(LossContext(stylized, content, inputs={"faces": batch}))
    assert float(loss[0].detach()) == 0 and float(loss[1].detach()) > 0
    loss.sum().backward()
    assert stylized.grad[0].abs().sum() == 0 and stylized.grad[1].abs().sum() > 0
    empty = face_plugin(LossContext(stylized, content, inputs={"faces": FaceBatch.from_list([Faces.empty()] * 2)}))
    assert torch.equal(empty, torch.zeros(2))


def test_border_and_small_faces_are_skipped_and_counted(face_plugin, hopper_faces):
    img, faces = hopper_faces
    crop, batch = _batch(img, faces)
    shifted = Faces(boxes=batch.boxes - torch.tensor([150.0, 0, 150, 0]), scores=batch.scores,
                    landmarks=batch.landmarks - torch.tensor([150.0, 0]))
    tiny = Faces(boxes=batch.boxes / 20, scores=batch.scores, landmarks=batch.landmarks / 20)
    out = face_plugin(LossContext(crop * 0.5, crop, inputs={"faces": FaceBatch.from_list([shifted])}))
    assert float(out[0]) == 0 and face_plugin.stats()["faces_cut"] == 1
    out = face_plugin(LossContext(crop * 0.5, crop, inputs={"faces": FaceBatch.from_list([tiny])}))
    assert float(out[0]) == 0 and face_plugin.stats()["faces_small"] == 1


@settings(max_examples=30, deadline=None)
@given(w=st.integers(40, 120), h=st.integers(40, 120), px=st.floats(0.2, 0.8), py=st.floats(0.2, 0.8),
       size=st.integers(16, 40), seed=st.integers(0, 1000), flip=st.booleans())
def test_annotations_follow_resize_crop_and_flip(tmp_path_factory, w, h, px, py, size, seed, flip):
    """A marked pixel in the file must land where the transformed annotation says, in the training crop."""
    x, y = int(px * w), int(py * h)
    r = max(1, round(1.5 * min(w, h) / size))  # the dot stays about 3 px wide in the crop
    arr = np.zeros((h, w, 3), np.uint8)
    arr[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = 255
    path = tmp_path_factory.mktemp("ann") / "dot.png"
    Image.fromarray(arr).save(path)
    crop, t = load_rgb_square(path, size, torch.Generator().manual_seed(seed), flip)
    faces = Faces(boxes=np.array([[x - r, y - r, x + r + 1, y + r + 1]], np.float32), scores=np.ones(1, np.float32),
                  landmarks=np.tile(np.array([[x + 0.5, y + 0.5]], np.float32), (1, 5, 1)))
    moved = faces.transformed(t)
    mx, my = (float(v) for v in moved.landmarks[0, 0])
    b = moved.boxes[0]
    assert b[0] <= b[2] and b[1] <= b[3]
    reach = r * max(t.scale_x, t.scale_y) + 1.5  # the dot's radius in the crop, plus resampling blur
    bright = crop.mean(0)
    if min(mx, my) > reach and max(mx, my) < size - reach:  # wholly inside: the dot is where we say
        ys, xs = torch.nonzero(bright > 0.5 * bright.max(), as_tuple=True)
        cx, cy = float(xs.float().mean()) + 0.5, float(ys.float().mean()) + 0.5
        assert abs(cx - mx) <= 1.5 and abs(cy - my) <= 1.5
    elif min(mx, my) < -reach or max(mx, my) > size + reach:  # wholly outside: nothing bright in the crop
        assert bright.max() < 0.3


def test_flip_swaps_left_and_right_landmarks(hopper_faces):
    _, faces = hopper_faces
    t = CropTransform(1.0, 1.0, 0, 0, 400, True)
    flipped = faces.transformed(t)
    eyes = flipped.landmarks[0]
    assert eyes[0, 0] < eyes[1, 0] and eyes[3, 0] < eyes[4, 0]  # still left eye first, as the embedder expects


def test_index_is_cached_and_incremental(tmp_path, face_plugin):
    data = tmp_path / "d"
    data.mkdir()
    shutil.copy(PHOTOS / "astronaut.jpg", data / "a.jpg")
    shutil.copy(PHOTOS / "coffee.jpg", data / "c.jpg")
    index = face_index()
    index._detector = face_plugin.index.detector()
    calls = []
    original = index.detect_file
    index.detect_file = lambda p: calls.append(p) or original(p)
    faces = index.build([str(data / "a.jpg"), str(data / "c.jpg")], roots=[str(data)], progress=False)
    assert len(faces[str(data / "a.jpg")]) == 1 and len(faces[str(data / "c.jpg")]) == 0 and len(calls) == 2
    assert json.loads((data / INDEX_NAME).read_text())["images"]["a.jpg"]["faces"][0]["score"] > 0.99
    index.build([str(data / "a.jpg"), str(data / "c.jpg")], roots=[str(data)], progress=False)
    assert len(calls) == 2  # nothing detected again
    shutil.copy(PHOTOS / "grace_hopper.jpg", data / "c.jpg")  # a changed file is detected again
    again = index.build([str(data / "a.jpg"), str(data / "c.jpg")], roots=[str(data)], progress=False)
    assert len(calls) == 3 and len(again[str(data / "c.jpg")]) == 1


def test_a_folder_of_symlinks_is_indexed_where_the_links_are(tmp_path, face_plugin):
    links = tmp_path / "links"
    links.mkdir()
    (links / "portrait.jpg").symlink_to(PHOTOS / "grace_hopper.jpg")
    index = face_index()
    index._detector = face_plugin.index.detector()
    faces = index.build([str(links / "portrait.jpg")], roots=[str(links)], progress=False)
    assert len(faces[str(links / "portrait.jpg")]) == 1
    assert "portrait.jpg" in json.loads((links / INDEX_NAME).read_text())["images"]


def test_cli_index_and_the_face_plugin_share_one_index(tmp_path, photo_dir, monkeypatch):
    """`preserve faces index` ahead of training means training detects nothing (one key for both)."""
    from preserve.cli import main
    from preserve.faces.index import DetectionIndex

    shutil.copy(PHOTOS / "grace_hopper.jpg", photo_dir / "grace_hopper.jpg")
    assert main(["faces", "index", str(photo_dir), "--no-progress"]) == 0
    before = (photo_dir / INDEX_NAME).read_text()

    def no_detection(self, path):
        raise AssertionError(f"training detected {path} again")

    monkeypatch.setattr(DetectionIndex, "detect_file", no_detection)
    recipe = small_recipe(64)
    recipe["face"] = {"weight": 1.0e4}
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=recipe, image_size=96,
                         batch_size=2, steps=1, workers=0, progress=False, preview_every=1000)
    Trainer(config).fit()
    assert (photo_dir / INDEX_NAME).read_text() == before


def test_index_key_fills_in_the_detector_defaults():
    assert face_index().key == face_index({"min_face_size": 20}).key
    assert face_index().key != face_index({"min_face_size": 40}).key
    with pytest.raises(TypeError, match="min_size"):
        face_index({"min_size": 20})


def test_training_with_the_face_plugin_end_to_end(tmp_path, photo_dir):
    shutil.copy(PHOTOS / "grace_hopper.jpg", photo_dir / "grace_hopper.jpg")
    recipe = small_recipe(64)
    recipe["face"] = {"weight": 1.0e5, "min_face_size": 8}
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=recipe, image_size=96,
                         batch_size=3, steps=3, workers=0, progress=False, log_every=1, preview_every=1000)
    trainer = Trainer(config)
    trainer.fit()
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("face" in ln and "face_faces" in ln for ln in lines)
    assert sum(ln["face_faces"] for ln in lines) >= 1  # two of the six photos have a face
    assert (photo_dir / INDEX_NAME).is_file()
