"""Region preservation: masks follow crops, and only masked regions cost anything."""

from __future__ import annotations

import json
import shutil

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import preserve
from helpers import small_recipe
from preserve.data import load_rgb_square
from preserve.train import TrainConfig, Trainer
from preserve_plugins.mask import Mask


@settings(max_examples=30, deadline=None)
@given(w=st.integers(40, 100), h=st.integers(40, 100), size=st.integers(16, 40), seed=st.integers(0, 999),
       flip=st.booleans())
def test_masks_follow_resize_crop_and_flip(tmp_path_factory, w, h, size, seed, flip):
    arr = np.zeros((h, w), np.uint8)
    arr[h // 4: h // 2, w // 3: (2 * w) // 3] = 255  # a white block, in the photo and in its mask alike
    path = tmp_path_factory.mktemp("m") / "p.png"
    Image.fromarray(np.dstack([arr] * 3)).save(path)
    crop, t = load_rgb_square(path, size, torch.Generator().manual_seed(seed), flip)
    moved = Mask(arr.astype(np.float32) / 255).transformed(t).weights
    photo, mask = crop.mean(0).numpy(), np.asarray(moved)
    if ((photo > 0.5) | (mask > 0.5)).sum() >= 8:  # compare where enough of the block is in view
        # Soft overlap, not thresholded: the block's edges can fall on half pixels, where the 8-bit photo
        # rounds 0.5 up and the float mask does not; a shifted or unflipped mask still drops far below.
        assert np.minimum(photo, mask).sum() / np.maximum(photo, mask).sum() > 0.7


def test_only_masked_regions_cost(vgg19):
    recipe = preserve.Recipe(vgg19, mask={"mask_fn": lambda x: (torch.arange(x.shape[-1]) < x.shape[-1] // 2)
                                          .float().expand(x.shape[0], 1, x.shape[-2], -1)})
    x = torch.rand(2, 3, 64, 64)
    right_changed = x.clone()
    right_changed[..., 48:] = torch.rand_like(right_changed[..., 48:])
    left_changed = x.clone()
    left_changed[..., :16] = torch.rand_like(left_changed[..., :16])
    right = recipe(right_changed, x).raw["mask"]
    left = recipe(left_changed, x).raw["mask"]
    assert torch.all(left > 20 * right)  # changes under the mask cost; away from it, only receptive-field spill
    assert recipe.plugins["mask"].stats() == {"masked_images": 2.0}  # counted for masks from a callable too


def test_mask_files_in_training(tmp_path, photo_dir):
    Image.new("L", Image.open(photo_dir / "astronaut.jpg").size, 255).save(photo_dir / "astronaut.mask.png")
    recipe = small_recipe(64)
    recipe["mask"] = {"weight": 5.0}
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=recipe, image_size=64,
                         batch_size=5, steps=2, workers=0, progress=False, log_every=1, preview_every=1000)
    trainer = Trainer(config)
    assert not any(".mask." in f.name for f in trainer.dataset.files)  # masks are never training photos
    assert sum(m.weights is not None for m in trainer.dataset.annotations["masks"].values()) == 1
    trainer.fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("mask" in x and "mask_masked_images" in x for x in lines)
    assert sum(x["mask_masked_images"] for x in lines) >= 1
    shutil.rmtree(tmp_path / "run")


def test_registered_face_segmenter_protects_faces(vgg19):
    from preserve.imageio import load_image

    from helpers import PHOTOS

    recipe = preserve.Recipe(vgg19, mask={"mask_fn": "faces"})
    img = load_image(PHOTOS / "grace_hopper.jpg", max_side=128).rgb[None]
    masks = recipe.plugins["mask"].mask_fn(img)
    assert masks.shape == (1, 1, *img.shape[-2:]) and 0.05 < float(masks.mean()) < 0.6  # some of the portrait, not all
    face_changed = img.clone()
    face_changed[..., 40:70, 40:70] = 0.5  # the middle of her face
    corner_changed = img.clone()
    corner_changed[..., :30, :30] = 0.5  # the flag in the corner
    assert recipe(face_changed, img).raw["mask"] > 10 * recipe(corner_changed, img).raw["mask"]


def test_masks_of_non_square_photos_land_in_place_in_optimisation_mode(tmp_path, vgg19):
    """A 48x96 photo with its bottom half masked: the mask the plugin sees covers rows 24-48 (12-24 at half size)."""
    from preserve.optimize import inputs_for

    photo = tmp_path / "wide.png"
    Image.fromarray(np.full((48, 96, 3), 128, np.uint8)).save(photo)
    mask = np.zeros((48, 96), np.uint8)
    mask[24:] = 255
    Image.fromarray(mask).save(tmp_path / "wide.mask.png")
    recipe = preserve.Recipe(vgg19, mask=5.0)
    for target, half in (((48, 96), 24), ((24, 48), 12)):
        weights = inputs_for(recipe, photo, (48, 96), target)["masks"][0]
        assert weights.shape == target
        assert weights[half + 1:].min() > 0.99 and weights[:half - 1].max() < 0.01
