"""The generic target plugin: any detector, any embedder; the face plugin is one configuration of it."""

from __future__ import annotations

import json

import torch

import preserve
from helpers import small_recipe
from preserve.faces.index import FaceBatch
from preserve.plugin import LossContext
from preserve.train import TrainConfig, Trainer
from preserve_plugins.face import FacePlugin
from preserve_plugins.target import TargetPlugin


def centre_box(rgb: torch.Tensor):
    """A toy detector: the middle half of every image, confidence 1."""
    h, w = rgb.shape[-2:]
    return [[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], [1.0]


def mean_colour(crops: torch.Tensor) -> torch.Tensor:
    """A toy embedder: the mean colour of the crop."""
    return crops.mean(dim=(2, 3))


def test_face_is_a_configuration_of_target():
    assert issubclass(FacePlugin, TargetPlugin) and "target" in preserve.list_plugins()


def test_callable_detector_and_embedder(tmp_path):
    plugin = preserve.create("target", detector=centre_box, embedder=mean_colour, min_size=4, crop_size=16)
    x = torch.rand(2, 3, 32, 32)
    found = plugin.index.detector()(x[0])
    batch = FaceBatch.from_list([found, found])
    assert torch.all(plugin(LossContext(x, x, inputs={"targets": batch})) == 0)
    outside = x.clone()
    outside[..., :, :6] = torch.rand_like(outside[..., :, :6])  # the left edge, outside the box
    assert torch.all(plugin(LossContext(outside, x, inputs={"targets": batch})) == 0)
    inside = x.clone()
    inside[0, 0, 12:20, 12:20] = 1.0  # redder in the middle of the first image
    loss = plugin(LossContext(inside, x, inputs={"targets": batch}))
    assert loss[0] > 0 and loss[1] == 0 and plugin.stats()["targets"] == 2


def test_training_with_a_custom_target(tmp_path, photo_dir):
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=small_recipe(64), image_size=64,
                         batch_size=2, steps=2, workers=0, progress=False, log_every=1, preview_every=1000)
    # A callable cannot go into a recipe file: build the recipe in Python and hand it to the trainer.
    target = {"plugin": "target", "weight": 1.0e4, "detector": centre_box, "embedder": mean_colour,
              "min_size": 4, "crop_size": 16}
    recipe = preserve.Recipe.from_dict({**config.recipe, "middle": target})
    Trainer(config, recipe=recipe).fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(x["middle"] > 0 and x["middle_targets"] == 2 for x in lines)
    assert any(p.name.startswith(".preserve-targets-") for p in photo_dir.iterdir())


def test_a_box_only_detector_with_the_default_face_embedder():
    """Detections without landmarks are cropped by their boxes (no 5-point alignment to do)."""
    from helpers import PHOTOS
    from preserve.imageio import load_image, resize

    img = resize(load_image(PHOTOS / "grace_hopper.jpg").rgb, (256, 192))

    def face_box(rgb: torch.Tensor):
        return [[50.0, 40.0, 140.0, 150.0]], [1.0]  # Grace Hopper's face at this size (boxes only)

    plugin = preserve.create("target", detector=face_box, min_size=16)  # default embedder: sface, aligned
    batch = FaceBatch.from_list([plugin.index.detector()(img)])
    assert batch.landmarks.shape == (1, 0, 2)
    content = img[None]
    assert float(plugin(LossContext(content, content, inputs={"targets": batch}))[0]) < 1e-8
    blurred = torch.nn.functional.avg_pool2d(content, 9, 1, 4, count_include_pad=False).requires_grad_(True)
    loss = plugin(LossContext(blurred, content, inputs={"targets": batch}))
    loss.sum().backward()
    assert float(loss[0].detach()) > 0.01 and blurred.grad[..., 40:150, 50:140].abs().sum() > 0
    assert blurred.grad[..., 200:, :].abs().sum() == 0  # outside the grown box nothing moves
