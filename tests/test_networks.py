"""Every registered style network: any size, a model-file round trip, ONNX parity, tiling; then what the multi-style
network adds: blends of normalisation parameters, strength, choosing a style by name, multi-style training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import PHOTOS, STYLES, small_recipe
from preserve.cli import main
from preserve.models.fast import FastStyleNet
from preserve.models.styled import ConditionalInstanceNorm
from preserve.models.io import load_model, save_model
from preserve.registry import NETWORKS
from preserve.stylize import parse_style
from preserve.tiling import stylize_tiled
from preserve.train import TrainConfig, Trainer, build_config

SMALL = {"johnson": {"width": 8, "residual_blocks": 1},
         "fast": {"width": 8, "residual_blocks": 1, "num_styles": 2, "style_names": ["a", "b"]},
         "johnson-multi": {"width": 8, "residual_blocks": 1, "num_styles": 2, "style_names": ["a", "b"]}}


def _small(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    net = NETWORKS.create(name, **SMALL.get(name, {})).eval()
    with torch.no_grad():  # move the norms off their identity start, so the checks below see real parameters
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("name", NETWORKS.names())
@pytest.mark.parametrize("h, w", [(17, 31), (40, 25), (64, 64)])
def test_any_size(name, h, w):
    with torch.no_grad():
        y = _small(name)(torch.rand(2, 3, h, w))
    assert y.shape == (2, 3, h, w) and torch.isfinite(y).all()


@pytest.mark.parametrize("name", NETWORKS.names())
def test_model_file_round_trip(name, tmp_path):
    net = _small(name)
    path = save_model(net, tmp_path / "model.pt")
    state = torch.load(path, weights_only=True)
    assert state["network"] == name and json.loads(state["config"]) == net.config()
    again = load_model(path)
    assert type(again) is type(net)
    x = torch.rand(1, 3, 33, 45)
    with torch.no_grad():
        torch.testing.assert_close(again(x), net(x))


def test_files_from_before_the_registry_load_as_johnson(tmp_path):
    net = _small("johnson")
    path = save_model(net, tmp_path / "old.pt")
    state = torch.load(path, weights_only=True)
    del state["network"]  # as every model file written before networks were registered
    torch.save(state, tmp_path / "old.pt")
    assert type(load_model(tmp_path / "old.pt")).__name__ == "TransformerNet"


@pytest.mark.parametrize("name", NETWORKS.names())
def test_onnx_matches_torch(name, tmp_path):
    pytest.importorskip("onnxruntime")
    from preserve.export import OnnxStylizer, export_onnx

    net = _small(name)
    if hasattr(net, "set_style"):
        net.set_style(1)  # the exported file paints the style chosen before export
    export_onnx(net, tmp_path / "m.onnx")
    for shape in [(1, 3, 37, 53), (2, 3, 64, 48)]:
        x = torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(OnnxStylizer(tmp_path / "m.onnx")(x), net(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NETWORKS.names())
def test_tiles_reproduce_the_whole_image_with_the_same_statistics(name):
    """Sides on the network's stride grid (the tiler pads to it), an overlap wider than the receptive field's
    reach; the fast network reaches further (five residual blocks at 1/8 resolution) and needs more overlap
    for the same agreement: at 64 px, 9e-4 (johnson) and 8e-3 (fast) mean difference."""
    net = _small(name)
    x = torch.rand(3, 200, 264)
    with torch.no_grad():
        whole = net(x[None])[0]
    tiled = stylize_tiled(net, x, tile=128, overlap=64, stats_side=264)  # statistics from the full image
    assert float((tiled - whole).abs().mean()) < 1e-2


def test_the_efficient_network_is_within_the_budget():
    """At most 5 GMAC (10 GFLOP) for a 512 x 512 image, counted by torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        FastStyleNet(num_styles=8)(torch.rand(1, 3, 512, 512))
    assert counter.get_total_flops() / 2 <= 5e9


@settings(max_examples=40, deadline=None)
@given(weights=st.lists(st.floats(0.0, 5.0), min_size=3, max_size=3).filter(lambda w: sum(w) > 1e-3),
       seed=st.integers(0, 100))
def test_a_blend_mixes_the_normalisation_parameters(weights, seed):
    torch.manual_seed(seed)
    norm = ConditionalInstanceNorm(4, 3)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    mix = torch.tensor(weights) / sum(weights)
    x = torch.rand(1, 4, 5, 6)
    expected_scale = sum(m * norm.weight[i] for i, m in enumerate(mix))
    expected_shift = sum(m * norm.bias[i] for i, m in enumerate(mix))
    expected = norm.norm(x) * expected_scale[None, :, None, None] + expected_shift[None, :, None, None]
    torch.testing.assert_close(norm(x, mix[None]), expected, atol=1e-5, rtol=1e-5)
    net = FastStyleNet(num_styles=3, width=8, style_names=["a", "b", "c"])
    blend = dict(zip("abc", weights))
    torch.testing.assert_close(net.style_vector(blend), mix)
    assert parse_style(",".join(f"{k}:{v!r}" for k, v in blend.items())) == pytest.approx(blend)


def test_bad_style_choices_are_refused():
    net = FastStyleNet(num_styles=2, width=8, style_names=["a", "b"])
    with pytest.raises(ValueError, match="unknown style 'c'"):
        net.set_style("c")
    with pytest.raises(ValueError, match="sum to more than 0"):
        net.set_style({"a": 0.0, "b": 0.0})
    for text in ("a:x", "a:-1,b:2", "a:0,b:0", ":1"):
        with pytest.raises(ValueError, match="--style"):
            parse_style(text)


@pytest.fixture(scope="module")
def two_styles(tmp_path_factory):
    """A few steps of a 2-style fast network (Starry Night, The Scream) at 48 px."""
    out = tmp_path_factory.mktemp("two") / "run"
    recipe = small_recipe(64)
    recipe["style"]["image"] = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    recipe["style"]["per_style"] = True
    config = TrainConfig(data=[str(PHOTOS)], out=str(out), recipe=recipe, image_size=48, batch_size=2, steps=40,
                         network="fast", workers=0, progress=False, log_every=1, checkpoint_every=10,
                         preview_every=1000, lr=5e-3)
    trainer = Trainer(config)
    trainer.fit()
    return out, trainer


def test_multi_style_training_lowers_each_style_loss(two_styles):
    out, trainer = two_styles
    assert trainer.style_names == ["starry_night", "the_scream"]
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    for name in trainer.style_names:
        losses = [ln[f"style@{name}"] for ln in lines if f"style@{name}" in ln]
        assert len(losses) == 20  # the styles take turns, one per batch
        assert sum(losses[-5:]) < 0.5 * sum(losses[:5]), name
    net = load_model(out / "model.pt")
    assert net.style_names == ["starry_night", "the_scream"]
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        assert not torch.allclose(net.set_style("starry_night")(x), net.set_style("the_scream")(x), atol=1e-3)


def test_multi_style_resume_equals_straight(two_styles, tmp_path):
    out, trainer = two_styles
    config = trainer.config
    short = TrainConfig(**{**config.to_json(), "out": str(tmp_path / "r"), "steps": 20})
    Trainer(short).fit()
    longer = TrainConfig(**{**config.to_json(), "out": str(tmp_path / "r")})
    resumed = Trainer(longer, resume=True)
    assert resumed.step == 20 and resumed.style_at(resumed.step) == 0
    resumed.fit()
    a, b = load_model(out / "model.pt").state_dict(), load_model(tmp_path / "r" / "model.pt").state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def test_stylize_chooses_blends_and_fades_styles(two_styles, tmp_path, capsys):
    from PIL import Image

    out, _ = two_styles
    photo = PHOTOS / "dog.jpg"
    base = ["stylize", "--model", str(out / "model.pt"), str(photo), "--size", "48", "--fp32"]
    assert main([*base, "--style", "the_scream", "--out", str(tmp_path / "s")]) == 0
    assert main([*base, "--style", "starry_night:0.5,the_scream:0.5", "--strength", "0.0",
                 "--out", str(tmp_path / "zero")]) == 0
    from preserve.imageio import load_image

    expected = load_image(photo, max_side=48).rgb  # the photo as stylize reads it at --size 48
    got = torch.from_numpy(np.array(Image.open(tmp_path / "zero" / "dog.png"))).permute(2, 0, 1)
    assert float((got.float() / 255 - expected).abs().max()) <= 1 / 255 + 1e-6  # strength 0: the photo
    for args, message in ((["--style", "nope"], "unknown style 'nope'"), (["--style", "a:x"], "a blend is"),
                          (["--strength", "1.5"], "--strength must be in [0, 1]")):
        assert main([*base, *args, "--out", str(tmp_path / "e")]) == 2
        assert message in capsys.readouterr().err


def test_a_one_style_model_warm_starts_every_style_of_a_multi_style_johnson(tmp_path):
    """``--init model.pt``: the one-style network's weights, its norms copied to each style, so before any
    step every style paints exactly what the one-style model paints; the run starts at step 0."""
    torch.manual_seed(0)
    solo = NETWORKS.create("johnson", width=8).eval()  # the trainer builds residual_blocks=5
    with torch.no_grad():
        for p in solo.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = save_model(solo, tmp_path / "solo.pt")
    recipe = small_recipe(64)
    recipe["style"]["image"] = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    config = TrainConfig(data=[str(PHOTOS)], out=str(tmp_path / "run"), recipe=recipe, image_size=48, batch_size=2,
                         steps=2, network="johnson-multi", width=8, init=str(path), workers=0, progress=False,
                         preview_every=1000)
    config.recipe["style"]["per_style"] = True
    trainer = Trainer(config)
    assert trainer.step == 0 and trainer.style_names == ["starry_night", "the_scream"]
    net = trainer.model.eval()
    x = torch.rand(1, 3, 40, 52)
    with torch.no_grad():
        for style in trainer.style_names:
            torch.testing.assert_close(net.set_style(style)(x), solo(x), atol=1e-5, rtol=1e-5)
    trainer.fit()  # trains from there, with a fresh optimiser
    assert not torch.equal(trainer.model.res[0].body[1].weight[0], trainer.model.res[0].body[1].weight[1])


def test_norm_lr_moves_the_style_parameters_at_their_own_rate(tmp_path):
    """--norm-lr: the normalisation scales and shifts (each style's parameters) in one Adam group at that rate,
    everything else at --lr; Adam's first step moves each parameter by about its group's rate."""
    recipe = small_recipe(64)
    recipe["style"]["image"] = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    recipe["style"]["per_style"] = True
    config = TrainConfig(data=[str(PHOTOS)], out=str(tmp_path / "run"), recipe=recipe, image_size=48, batch_size=2,
                         steps=1, network="johnson-multi", width=8, lr=1e-5, norm_lr=1e-2, workers=0,
                         progress=False, preview_every=1000)
    trainer = Trainer(config)
    norms = [m for m in trainer.model.modules() if isinstance(m, ConditionalInstanceNorm)]
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [1e-5, 1e-2]
    assert {id(p) for p in trainer.optimizer.param_groups[1]["params"]} == {id(p) for m in norms
                                                                          for p in m.parameters()}
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.fit()
    moved = {n: float((p.detach() - before[n]).abs().max()) for n, p in trainer.model.named_parameters()}
    assert max(v for n, v in moved.items() if "conv" in n) < 2e-5
    assert max(v for n, v in moved.items() if n.endswith("1.weight")) > 5e-3  # the first style's norms moved


def test_a_model_of_another_shape_cannot_warm_start(tmp_path):
    path = save_model(_small("fast"), tmp_path / "fast.pt")
    config = TrainConfig(data=[str(PHOTOS)], out=str(tmp_path / "run"), recipe=small_recipe(64), image_size=48,
                         batch_size=2, steps=1, network="johnson", width=8, init=str(path), workers=0,
                         progress=False)
    with pytest.raises(ValueError, match="does not fit this network"):
        Trainer(config)


def test_multi_scale_batches_have_one_size_each_drawn_from_the_range():
    from preserve.data import EpochSampler

    sampler = EpochSampler(20, 4, seed=3, epoch=1, sizes=(96, 224))
    keys = list(sampler)
    sizes = [keys[i][2] for i in range(0, len(keys), 4)]
    assert all(len({k[2] for k in keys[i:i + 4]}) == 1 for i in range(0, len(keys), 4))  # one size per batch
    assert all(96 <= s <= 224 and s % 32 == 0 for s in sizes) and len(set(sizes)) > 1
    again = EpochSampler(20, 4, seed=3, epoch=1, sizes=(96, 224), start_batch=2)
    assert list(again) == keys[8:]  # resuming mid-epoch draws the same sizes


def test_multi_scale_training_runs_at_the_drawn_sizes(tmp_path):
    seen = []
    config = TrainConfig(data=[str(PHOTOS)], out=str(tmp_path / "ms"), recipe=small_recipe(64), image_size=64,
                         image_sizes=[32, 96], batch_size=2, steps=4, network="fast", workers=0, progress=False,
                         preview_every=1000)
    trainer = Trainer(config)
    original = trainer.train_step
    trainer.train_step = lambda images, inputs=None, style=0: seen.append(images.shape[-1]) or original(
        images, inputs, style)
    trainer.fit()
    assert len(seen) == 4 and set(seen) <= {32, 64, 96}


def test_style_weights_on_the_cli_reach_the_run_and_are_checked(tmp_path, capsys):
    """``preserve train --style-weights NAME=W`` and ``--weight-per-style TERM@STYLE=F``: the run's recipe holds
    them (so a resume keeps them), a style or term the run does not have is refused before training, and a resume
    may not change them."""
    out = tmp_path / "run"
    base = ["train", "--data", str(PHOTOS), "--out", str(out), "--style", str(STYLES / "starry_night.jpg"),
            str(STYLES / "the_scream.jpg"), "--network", "johnson-multi", "--width", "8", "--image-size", "32",
            "--batch-size", "1", "--steps", "2", "--workers", "0", "--no-progress", "--preview-every", "1000"]
    assert main([*base, "--style-weights", "nope=2"]) == 2
    assert "unknown style(s) ['nope']" in capsys.readouterr().err
    assert main([*base, "--weight-per-style", "tv@nope=2"]) == 2
    assert "unknown style(s) ['nope']" in capsys.readouterr().err
    assert main([*base, "--weight-per-style", "face@the_scream=2"]) == 2
    assert "the recipe has no term 'face'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--weight-per-style", "the_scream=2"])
    assert "expected TERM@STYLE=FACTOR" in capsys.readouterr().err
    assert main([*base, "--style-weights", "the_scream=2.5", "--weight-per-style", "tv@starry_night=0.5"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["style"]["style_weights"] == {"the_scream": 2.5}
    assert config["recipe"]["tv"]["weight_per_style"] == {"starry_night": 0.5}
    for change in (["--style-weights", "the_scream=1"], ["--weight-per-style", "tv@starry_night=1"]):
        assert main(["train", "--out", str(out), "--resume", "--steps", "3", *change]) == 2
        assert "weights cannot change when resuming" in capsys.readouterr().err


def test_recipe_style_weights_by_list_and_cli_weights_by_name_are_refused_clearly(tmp_path):
    """A recipe's per-style weights given as a list have no names to merge ``--style-weights NAME=W`` into: the
    refusal says how to combine them; given by name in the recipe, the CLI weight overrides that style only."""
    images = [str(STYLES / "starry_night.jpg"), str(STYLES / "the_scream.jpg")]
    recipe = {"content": {"weight": 1.0},
              "style": {"weight": 1e5, "image": images, "per_style": True, "style_weights": [2.0, 1.0]}}
    with pytest.raises(ValueError, match="give them by name"):
        build_config(str(PHOTOS), tmp_path / "run", recipe=recipe, network="johnson-multi",
                     style_weights={"the_scream": 3.0})
    recipe["style"]["style_weights"] = {"starry_night": 2.0, "the_scream": 1.0}
    config = build_config(str(PHOTOS), tmp_path / "run", recipe=recipe, network="johnson-multi",
                          style_weights={"the_scream": 3.0})
    assert config.recipe["style"]["style_weights"] == {"starry_night": 2.0, "the_scream": 3.0}
