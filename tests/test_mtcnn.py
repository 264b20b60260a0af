"""The batched MTCNN port with the real P/R/O-Net weights, on real photos."""

from __future__ import annotations

import pytest
import torch

from conftest import PHOTOS
from preserve.faces.mtcnn import MTCNN
from preserve.imageio import load_image


@pytest.fixture(scope="module")
def mtcnn() -> MTCNN:
    return MTCNN()


def test_finds_the_astronaut_face(mtcnn):
    # astronaut.jpg is skimage's astronaut (NASA, public domain) scaled from 512 to 384 px.
    img = load_image(PHOTOS / "astronaut.jpg").rgb
    det = mtcnn.detect(img[None])[0]
    assert len(det) >= 1 and float(det.scores[0]) >= 0.99
    expected = torch.tensor([181.0, 62.0, 268.0, 172.0]) * 384 / 512
    assert torch.allclose(det.boxes[0], expected, atol=6), det.boxes[0]
    x1, y1, x2, y2 = det.boxes[0].tolist()
    marks = det.landmarks[0]
    assert ((marks[:, 0] > x1) & (marks[:, 0] < x2) & (marks[:, 1] > y1) & (marks[:, 1] < y2)).all()
    assert marks[0, 0] < marks[1, 0] and marks[3, 0] < marks[4, 0]  # left eye/mouth corner left of right ones
    assert marks[2, 1] > marks[:2, 1].max() and marks[3:, 1].min() > marks[2, 1]  # eyes above nose above mouth


def test_batch_of_mixed_sizes_matches_single_images(mtcnn):
    imgs = [load_image(PHOTOS / n).rgb for n in ("grace_hopper.jpg", "astronaut.jpg", "kite.jpg")]
    batch = mtcnn.detect(imgs)
    hopper = batch[0]
    assert len(hopper) >= 1 and float(hopper.scores[0]) > 0.99
    alone = mtcnn.detect(imgs[0][None])[0]
    torch.testing.assert_close(alone.boxes, hopper.boxes)


def test_no_face_and_tiny_images_give_empty_results(mtcnn):
    photos = [load_image(PHOTOS / "red_panda.jpg").rgb * 0 + 0.5, torch.rand(3, 8, 8)]
    for det in mtcnn.detect(photos):
        assert len(det) == 0 and det.boxes.shape == (0, 4) and det.landmarks.shape == (0, 5, 2)
