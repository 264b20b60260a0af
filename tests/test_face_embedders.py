"""Face embedders with real weights on real photos; the differentiable alignment."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve import weights
from preserve.faces.embedders import ARCFACE_112, align, facenet, insightface, sface, similarity_transform
from preserve.faces.mtcnn import MTCNN
from preserve.imageio import load_image

pytestmark = pytest.mark.slow  # real weights, fetched and converted into the cache


@pytest.fixture(scope="module")
def embedder():
    return sface()


@pytest.fixture(scope="module")
def facenet_embedder():
    return facenet()


@pytest.fixture(scope="module")
def arcface_embedder():
    return insightface()


@pytest.fixture(scope="module")
def mtcnn():
    return MTCNN()


# FaceNet's output for np.random.default_rng(0).normal(size=(1, 3, 160, 160)), computed by OpenCV's
# TensorFlow importer (cv2.dnn.readNetFromTensorflow) on the same pinned graph: first 8 and last 4 values.
FACENET_REFERENCE_HEAD = [-0.010655, 0.055243, 0.017988, -0.014092, 0.038614, 0.018685, -0.027795, -0.042318]
FACENET_REFERENCE_TAIL = [-0.088948, 0.046638, 0.036551, -0.085481]


def test_facenet_graph_runs_like_the_reference(facenet_embedder):
    x = np.random.default_rng(0).normal(size=(1, 3, 160, 160)).astype(np.float32)
    with torch.no_grad():
        ours = facenet_embedder.net(torch.from_numpy(x)).numpy()[0]
    assert ours.shape == (512,) and abs(float(np.linalg.norm(ours)) - 1) < 1e-5
    np.testing.assert_allclose(ours[:8], FACENET_REFERENCE_HEAD, atol=2e-6)
    np.testing.assert_allclose(ours[-4:], FACENET_REFERENCE_TAIL, atol=2e-6)


def test_facenet_graph_matches_opencv_on_the_whole_vector(facenet_embedder):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the reference where a developer has it installed")
    x = np.random.default_rng(1).normal(size=(1, 3, 160, 160)).astype(np.float32)
    ref = cv2.dnn.readNetFromTensorflow(str(weights.resolve(weights.FACENET_GRAPH)))
    ref.setInput(x)
    with torch.no_grad():
        ours = facenet_embedder.net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, ref.forward(), atol=1e-5)


@pytest.mark.parametrize("which", ["embedder", "facenet_embedder", "arcface_embedder"])
def test_a_batch_of_faces_embeds_like_each_face_alone(which, request):
    net = request.getfixturevalue(which)
    crops = torch.rand(3, 3, net.input_size, net.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        batched = net(crops)
        alone = torch.cat([net(c[None]) for c in crops])
    assert batched.shape == (3, net.dim)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-4)


def test_sface_conversion_matches_onnxruntime(embedder):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(weights.resolve(weights.SFACE_ONNX)), options)
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 112, 112)).astype(np.float32)
    expected = np.concatenate([session.run(None, {"data": x[i:i + 1]})[0] for i in range(2)])
    with torch.no_grad():
        ours = embedder.net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("which", ["embedder", "facenet_embedder", "arcface_embedder"])
def test_embedders_separate_identities_on_orl(which, mtcnn, request):
    embedder = request.getfixturevalue(which)
    root = weights.resolve_folder(weights.ORL_FACES)
    embs, labels = [], []
    zero = torch.zeros(1, dtype=torch.long)
    for person in range(1, 7):
        for shot in range(1, 5):
            img = load_image(root / f"s{person}" / f"{shot}.pgm").rgb
            det = mtcnn.detect(img[None])[0]
            assert len(det) >= 1, f"no face in s{person}/{shot}.pgm"
            embs.append(embedder.crop_and_embed(img[None], zero, det.boxes[:1], det.landmarks[:1])[0])
            labels.append(person)
    sims = torch.stack(embs) @ torch.stack(embs).T
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = torch.tensor([float(sims[i, j]) for i, j in pairs if labels[i] == labels[j]])
    diff = torch.tensor([float(sims[i, j]) for i, j in pairs if labels[i] != labels[j]])
    assert same.mean() > 0.6 and diff.mean() < 0.3
    assert same.mean() - diff.mean() > 0.4
    assert float((same[:, None] > diff[None, :]).float().mean()) > 0.97  # ranking quality (AUC)


def test_arcface_matches_onnxruntime_on_aligned_faces(arcface_embedder, mtcnn):
    """Our conversion of w600k_mbf against onnxruntime on the same ArcFace-aligned crops of real faces:
    the largest difference of the (unnormalised) 512-D outputs is under 1e-4 (values reach about 2)."""
    ort = pytest.importorskip("onnxruntime")
    from helpers import PHOTOS

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(weights.resolve(weights.ARCFACE_MBF)), options)
    crops = []
    for name in ("grace_hopper.jpg", "astronaut.jpg"):
        img = load_image(PHOTOS / name).rgb[None]
        det = mtcnn.detect(img)[0]
        crops.append(arcface_embedder.crop(img, torch.zeros(1, dtype=torch.long), det.boxes[:1], det.landmarks[:1]))
    x = ((torch.cat(crops) * 255.0 - 127.5) / 127.5).numpy().astype(np.float32)
    expected = np.concatenate([session.run(None, {session.get_inputs()[0].name: x[i:i + 1]})[0]
                               for i in range(len(x))])
    with torch.no_grad():
        ours = arcface_embedder.net(torch.from_numpy(x)).numpy()
    assert ours.shape == (2, 512)
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("which", ["embedder", "arcface_embedder"])
def test_gradients_reach_the_image_through_alignment_and_embedder(which, mtcnn, request):
    embedder = request.getfixturevalue(which)
    from helpers import PHOTOS

    img = load_image(PHOTOS / "grace_hopper.jpg").rgb[None]
    det = mtcnn.detect(img)[0]
    boxes, marks, zero = det.boxes[:1], det.landmarks[:1], torch.zeros(1, dtype=torch.long)
    stylized = (img * 0.8 + 0.1).requires_grad_(True)
    target = embedder.crop_and_embed(img, zero, boxes, marks).detach()
    loss = (embedder.crop_and_embed(stylized, zero, boxes, marks) - target).pow(2).sum()
    loss.backward()
    grad = stylized.grad[0].abs().sum(0)
    assert loss > 0 and grad.sum() > 0
    x1, y1, x2, y2 = mtcnn.detect(img)[0].boxes[0].tolist()
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)  # a box twice the face's size
    around = grad[max(0, int(cy - half)):int(cy + half), max(0, int(cx - half)):int(cx + half)].sum()
    assert around == pytest.approx(float(grad.sum()), rel=1e-6)  # nothing outside the aligned face crop


def test_insightface_embedder_converts_a_users_onnx_file(embedder):
    from preserve.faces.embedders import EMBEDDERS

    # Any ArcFace-style ONNX recognition model works; the pinned SFace file stands in for the user's file
    # (it normalises its input itself, hence mean 0 and std 1).
    user = EMBEDDERS.create("insightface", path=str(weights.resolve(weights.SFACE_ONNX)), mean=0.0, std=1.0)
    crops = torch.rand(3, 3, 112, 112)
    with torch.no_grad():
        torch.testing.assert_close(user(crops), embedder(crops), atol=1e-5, rtol=1e-4)
    with pytest.raises(FileNotFoundError, match="no model file"):
        EMBEDDERS.create("insightface", path="/nonexistent/w600k_r50.onnx")


@settings(max_examples=50, deadline=None)
@given(angle=st.floats(-math.pi, math.pi), scale=st.floats(0.2, 5.0), tx=st.floats(-200, 200), ty=st.floats(-200, 200))
def test_similarity_transform_recovers_a_known_transform(angle, scale, tx, ty):
    c, s = math.cos(angle), math.sin(angle)
    m = torch.tensor([[scale * c, -scale * s, tx], [scale * s, scale * c, ty]])
    src = (ARCFACE_112 - m[:, 2]) @ torch.linalg.inv(m[:, :2]).T  # points that m maps onto the template
    est = similarity_transform(src[None], ARCFACE_112)[0]
    torch.testing.assert_close(est, m, atol=1e-3 * max(1.0, abs(tx), abs(ty)), rtol=1e-3)


def test_aligning_the_template_itself_is_identity():
    img = torch.rand(1, 3, 112, 112)
    crop = align(img, torch.zeros(1, dtype=torch.long), ARCFACE_112[None], ARCFACE_112, 112)
    torch.testing.assert_close(crop, img, atol=1e-4, rtol=0)
