"""The batched MTCNN port with the real P/R/O-Net weights, on real photos."""

from __future__ import annotations

import pytest
import torch

from helpers import PHOTOS
from preserve.faces.mtcnn import MTCNN
from preserve.imageio import load_image

pytestmark = pytest.mark.slow  # real weights, fetched and converted into the cache


@pytest.fixture(scope="module")
def mtcnn() -> MTCNN:
    return MTCNN()


def test_finds_the_astronaut_face(mtcnn):
    # astronaut.jpg is skimage's astronaut (NASA, public domain) scaled from 512 to 384 px. The box was read
    # off the 512 px original by eye; test_matches_the_reference_implementation checks it against the reference.
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


@pytest.fixture(scope="module")
def reference_mtcnn(tmp_path_factory):
    """facenet-pytorch 2.6.0's own MTCNN code (the implementation our port follows), from its wheel.

    The wheel is fetched with ``pip download --no-deps`` (its dependency pins are ancient) and its
    ``mtcnn`` module is imported without the package ``__init__``, which would pull in ``requests``.
    """
    import importlib
    import sys
    import types
    import zipfile

    from preserve import weights

    folder = tmp_path_factory.mktemp("facenet-pytorch")
    wheel = weights._pip_download("facenet-pytorch==2.6.0", str(folder), "the reference MTCNN", "")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(folder / "src")
    root = folder / "src" / "facenet_pytorch"
    saved = {k: v for k, v in sys.modules.items() if k.startswith("facenet_pytorch")}
    for name, path in (("facenet_pytorch", root), ("facenet_pytorch.models", root / "models")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    try:
        yield importlib.import_module("facenet_pytorch.models.mtcnn").MTCNN(keep_all=True, device="cpu")
    finally:
        for k in [k for k in sys.modules if k.startswith("facenet_pytorch")]:
            del sys.modules[k]
        sys.modules.update(saved)


@pytest.mark.slow
@pytest.mark.parametrize("photo", ["astronaut.jpg", "grace_hopper.jpg", "person.jpg"])
def test_matches_the_reference_implementation(mtcnn, reference_mtcnn, photo):
    """Same faces, boxes and landmarks within a few pixels (the two resample the image pyramid differently)."""
    import numpy as np
    from PIL import Image

    boxes, probs, marks = reference_mtcnn.detect(Image.open(PHOTOS / photo).convert("RGB"), landmarks=True)
    ours = mtcnn.detect(load_image(PHOTOS / photo).rgb[None])[0]
    if boxes is None:
        assert len(ours) == 0
        return
    boxes, marks, probs = (np.asarray(a.tolist(), np.float32) for a in (boxes, marks, probs))
    assert len(ours) == len(boxes)
    size = float(np.mean(boxes[:, 2:] - boxes[:, :2]))
    np.testing.assert_allclose(ours.boxes.numpy(), boxes, atol=0.05 * size)
    np.testing.assert_allclose(ours.landmarks.numpy(), marks, atol=0.05 * size)
    np.testing.assert_allclose(ours.scores.numpy(), probs, atol=1e-3)


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
