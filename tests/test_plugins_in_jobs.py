"""The newer plugins (color, mask, target) in both jobs: a training run and optimisation mode."""

from __future__ import annotations

import json

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import preserve
from helpers import small_recipe
from preserve.faces.index import FaceBatch
from preserve.plugin import LossContext
from preserve.train import TrainConfig, Trainer
from test_target import centre_box, mean_colour

EXTRA = {
    "color": {"weight": 1.0e6},
    "mask": {"weight": 5.0, "mask_fn": "faces"},
    "middle": {"plugin": "target", "weight": 1.0e4, "detector": centre_box, "embedder": mean_colour,
               "min_size": 4, "crop_size": 16},
}


def test_training_with_color_mask_and_target(tmp_path, photo_dir):
    config = TrainConfig(data=[str(photo_dir)], out=str(tmp_path / "run"), recipe=small_recipe(64), image_size=64,
                         batch_size=2, steps=2, workers=0, progress=False, log_every=1, preview_every=1000)
    recipe = preserve.Recipe.from_dict({**config.recipe, **EXTRA})
    Trainer(config, recipe=recipe).fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    # Every term was computed on every step: an untrained network changes the colours and the centre region.
    assert all(x["color"] > 0 and x["middle"] > 0 for x in lines)
    assert all(x["middle_targets"] == 2 for x in lines)  # the centre box of both images of each batch
    assert all(0 <= x["mask_masked_images"] <= 2 for x in lines)
    # Each term's own effect is checked in optimisation mode (tests/test_optimize.py).


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), b=st.integers(2, 4))
def test_target_loss_is_per_sample_and_batch_order_equivariant(seed, b):
    plugin = preserve.create("target", detector=centre_box, embedder=mean_colour, min_size=4, crop_size=8)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(b, 3, 24, 24, generator=g), torch.rand(b, 3, 24, 24, generator=g)
    found = plugin.index.detector()(x[0])
    batch = FaceBatch.from_list([found] * b)
    perm = torch.randperm(b, generator=g)
    loss = plugin(LossContext(y, x, inputs={"targets": batch}))
    assert loss.shape == (b,) and torch.all(loss >= 0)
    torch.testing.assert_close(plugin(LossContext(y[perm], x[perm], inputs={"targets": batch})), loss[perm])
