"""Flicker measurements: zero for a stylization that moves with the scene, high for one that repaints."""

from __future__ import annotations

import pytest
import torch

from helpers import PHOTOS
from preserve.flicker import MOTIONS, frame_difference, synthetic_clip, warping_error
from preserve.imageio import load_image, resize


@pytest.fixture(scope="module")
def photo():
    return resize(load_image(PHOTOS / "colosseum.jpg").rgb, (200, 200))


def test_a_stylization_fixed_to_the_scene_has_no_warping_error(photo):
    # On a pan by whole pixels the warp is exact: a stylization that is a fixed function of the position in
    # the scene (here: a colour map of the noiseless photo, cut where each frame is) scores 0.
    frames, step = synthetic_clip(photo, "pan", 5, 128, noise=0.0)
    painted = [0.3 + 0.5 * f.flip(0) for f in frames]
    assert warping_error(painted, step) < 1e-5
    assert frame_difference(painted) > 0.02  # the frames do change: they move


@pytest.mark.parametrize("kind", sorted(MOTIONS))
def test_repainting_every_frame_scores_far_above_the_source(photo, kind):
    frames, step = synthetic_clip(photo, kind, 4, 128, noise=0.01)
    source = warping_error(frames, step)
    assert source < 0.03  # noise and resampling only
    generator = torch.Generator().manual_seed(0)
    repainted = [(f + 0.2 * torch.rand(f.shape, generator=generator)).clamp(0, 1) for f in frames]
    assert warping_error(repainted, step) > 3 * source


def test_bad_clips_are_refused(photo):
    with pytest.raises(ValueError, match="at least"):
        synthetic_clip(photo, "pan", 3, 160)
    with pytest.raises(ValueError, match="unknown motion"):
        synthetic_clip(photo, "shake", 3, 64)
    with pytest.raises(ValueError, match="two frames"):
        warping_error([photo], torch.eye(2, 3)[None])
