"""Face zoom: small faces stylized at a zoom the network keeps them at, blended back under a feathered mask."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import PHOTOS
from preserve.facezoom import FaceZoom, face_mask, zoom_faces
from preserve.imageio import fit_size, load_image, resize
from preserve.stylize import load_model, stylize, stylize_tensor
from preserve.styles import STYLE_DIR

FACES_MODEL = STYLE_DIR / "paintings-faces.pt"


def _photo(name: str, side: int) -> torch.Tensor:
    img = load_image(PHOTOS / name, max_side=side).rgb
    return resize(img, fit_size(tuple(img.shape[-2:]), side))


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return load_model(FACES_MODEL).set_style("the_scream")


@pytest.fixture(scope="module")
def small_face() -> tuple[torch.Tensor, torch.Tensor]:
    """The astronaut photo at 160 px, where her face is about 26 px wide, and the boxes FaceZoom finds."""
    img = _photo("astronaut.jpg", 160)
    return img, FaceZoom().faces(img)


boxes_strategy = st.lists(st.tuples(st.floats(-20, 60), st.floats(-20, 60), st.floats(2, 40), st.floats(2, 40)),
                          min_size=1, max_size=3)


@settings(max_examples=40, deadline=None)
@given(boxes=boxes_strategy)
def test_mask_is_one_on_each_face_centre_zero_far_away_and_within_unit_range(boxes):
    t = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes])
    m = face_mask(t, 64, 64)[0]
    assert m.shape == (64, 64) and float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    for x1, y1, x2, y2 in t.tolist():
        cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
        if 0 <= cx < 64 and 0 <= cy < 64 and x2 - x1 > 4 and y2 - y1 > 4:
            assert m[cy, cx] > 0.99
    ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    far = torch.ones(64, 64, dtype=torch.bool)
    for x1, y1, x2, y2 in t.tolist():  # beyond the feathered edge of every ellipse
        d = ((xs - (x1 + x2) / 2) / (0.65 * (x2 - x1))) ** 2 + ((ys - (y1 + y2) / 2) / (0.75 * (y2 - y1))) ** 2
        far &= d.sqrt() > 1.4
    assert not bool((m[far] != 0).any())


@settings(max_examples=30, deadline=None)
@given(boxes=boxes_strategy, left=st.integers(0, 40), top=st.integers(0, 40))
def test_mask_of_a_window_is_the_window_of_the_mask(boxes, left, top):
    t = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes])
    whole = face_mask(t, 64, 64)
    window = face_mask(t, 24, 20, offset=(left, top))
    torch.testing.assert_close(window, whole[:, top:top + 24, left:left + 20], atol=1e-5, rtol=0)


def test_finds_the_small_face_and_zooms_it_to_the_target_width(small_face):
    img, boxes = small_face
    assert len(boxes) == 1
    width = float(boxes[0, 2] - boxes[0, 0])
    assert 18 < width < 40
    assert FaceZoom().zoom_for(boxes) == pytest.approx(64 / width)
    assert FaceZoom(max_zoom=2.0).zoom_for(boxes) == 2.0
    assert len(FaceZoom(target=width - 1).faces(img)) == 0  # faces as wide as the target are left alone


def test_zoomed_faces_match_the_whole_image_stylized_at_that_zoom(net, small_face):
    """The regions run with the whole zoomed image's instance-norm statistics, so inside the mask they are
    what stylizing the whole image at that zoom and scaling it back gives. (With each region's own
    statistics they differed by about 0.06 on average here with the stage-1 model, 6 times this tolerance;
    the measured mean is 0.004 with that model and 0.006 with the stage-3 one, whose strokes are stronger,
    from the region borders' padding.)"""
    img, boxes = small_face
    zoom = FaceZoom().zoom_for(boxes)
    base = stylize_tensor(net, img)
    out = zoom_faces(net, img, base, boxes, zoom)
    h, w = img.shape[-2:]
    whole = resize(stylize_tensor(net, resize(img, (round(h * zoom), round(w * zoom)))), (h, w))
    mask = face_mask(boxes, h, w)[0]
    core, outside = mask > 0.999, mask == 0
    assert core.sum() > 200
    assert float((out - whole)[:, core].abs().mean()) < 0.01
    assert torch.equal(out[:, outside], base[:, outside])  # nothing changes away from the faces


def test_zoom_keeps_a_small_face_closer_to_the_person(net, small_face):
    from preserve.faces.embedders import EMBEDDERS
    from preserve.faces.mtcnn import MTCNN

    img, _ = small_face
    det = MTCNN(min_face_size=12).detect(img[None])[0]
    index = torch.zeros(1, dtype=torch.long)
    judge = EMBEDDERS.create("facenet")
    base = stylize_tensor(net, img)
    zoomed = FaceZoom()(net, img, base)
    with torch.no_grad():
        ref, plain, close = (judge.crop_and_embed(x[None], index, det.boxes[:1], det.landmarks[:1])
                             for x in (img, base, zoomed))
    assert float((close - ref).pow(2).sum()) < 0.8 * float((plain - ref).pow(2).sum())


def test_no_faces_or_no_zoom_leaves_the_stylization_as_it_is(net):
    img = _photo("great_wall.jpg", 128)
    base = stylize_tensor(net, img)
    assert torch.equal(FaceZoom()(net, img, base), base)
    assert torch.equal(zoom_faces(net, img, base, torch.tensor([[10.0, 10.0, 30.0, 30.0]]), 1.0), base)


def test_a_face_cut_by_the_border_is_zoomed_without_error(net, small_face):
    img, boxes = small_face
    x1, y1, x2, y2 = boxes[0].tolist()
    cut = img[:, :, int((x1 + x2) / 2):]  # the left half of the face is outside the image
    shifted = boxes - torch.tensor([[int((x1 + x2) / 2), 0.0, int((x1 + x2) / 2), 0.0]])
    base = stylize_tensor(net, cut)
    out = zoom_faces(net, cut, base, shifted, 2.5)
    assert out.shape == base.shape and not torch.equal(out, base)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="positive"):
        FaceZoom(target=0)
    with pytest.raises(ValueError, match="at least 1"):
        FaceZoom(max_zoom=0.5)
    with pytest.raises(ValueError, match="stats_side"):
        FaceZoom(stats_side=8)


def test_a_smaller_statistics_pass_moves_the_faces_away_from_the_zoomed_colours(net, small_face):
    """``stats_side`` is honoured: measured on the image as it is (no zoom) instead of zoomed, the statistics
    no longer match the zoomed whole image, and the faces drift from its rendering; the rest stays as it is."""
    img, boxes = small_face
    zoom = FaceZoom().zoom_for(boxes)
    h, w = img.shape[-2:]
    base = stylize_tensor(net, img)
    whole = resize(stylize_tensor(net, resize(img, (round(h * zoom), round(w * zoom)))), (h, w))
    core = face_mask(boxes, h, w)[0] > 0.999
    exact = zoom_faces(net, img, base, boxes, zoom)
    cheap = FaceZoom(stats_side=max(h, w))(net, img, base)
    assert float((cheap - whole)[:, core].abs().mean()) > 2 * float((exact - whole)[:, core].abs().mean())
    assert torch.equal(cheap[:, face_mask(boxes, h, w)[0] == 0], base[:, face_mask(boxes, h, w)[0] == 0])


def test_stylize_face_zoom_writes_the_zoomed_faces_and_refuses_onnx_and_video(tmp_path, small_face):
    img, boxes = small_face
    from preserve.imageio import save_image

    save_image(img, tmp_path / "in" / "astronaut.png")
    plain = stylize(FACES_MODEL, tmp_path / "in", tmp_path / "plain", style="the_scream", progress=False)
    zoomed = stylize(FACES_MODEL, tmp_path / "in", tmp_path / "zoom", style="the_scream", progress=False,
                     face_zoom=64)
    a, b = (load_image(r.written[0]).rgb for r in (plain, zoomed))
    h, w = a.shape[-2:]
    mask = face_mask(boxes, h, w)[0]
    changed = (a - b).abs().amax(0)
    assert float(changed[mask > 0.999].mean()) > 0.02 and float(changed[mask == 0].max()) == 0.0
    video = stylize(FACES_MODEL, [PHOTOS.parent / "clip.mp4"], tmp_path / "video", style="the_scream",
                    progress=False, face_zoom=64)
    assert not video.written and "still images" in video.failed[str(PHOTOS.parent / "clip.mp4")]
    with pytest.raises(ValueError, match="torch backend"):
        stylize(FACES_MODEL, tmp_path / "in", tmp_path / "onnx", style="the_scream", backend="onnxruntime",
                progress=False, face_zoom=64)


def test_cli_face_zoom(tmp_path, small_face, capsys):
    from preserve.cli import main
    from preserve.imageio import save_image

    img, boxes = small_face
    save_image(img, tmp_path / "astronaut.png")
    assert main(["stylize", str(tmp_path / "astronaut.png"), "--style", "the_scream-faces", "--out",
                 str(tmp_path / "a"), "--face-zoom", "64", "--no-progress"]) == 0
    assert main(["stylize", str(tmp_path / "astronaut.png"), "--style", "the_scream-faces", "--out",
                 str(tmp_path / "b"), "--no-progress"]) == 0
    a, b = (load_image(tmp_path / d / "astronaut.png").rgb for d in ("a", "b"))
    core = face_mask(boxes, *a.shape[-2:])[0] > 0.999
    assert float((a - b).abs().amax(0)[core].mean()) > 0.02
    assert main(["stylize", str(tmp_path / "astronaut.png"), "--style", "the_scream-faces", "--out",
                 str(tmp_path / "c"), "--face-zoom", "0"]) != 0
    assert "positive" in capsys.readouterr().err
