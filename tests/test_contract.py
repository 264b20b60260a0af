"""One contract test over every registered name, as timm's tests run over list_models(): plugins, encoders, face
embedders, detectors and segmenters, built-in or installed from a third-party package. A package whose plugin
breaks the contract fails here, in its own CI too.
"""

from __future__ import annotations

import json

import pytest
import torch

import preserve
from helpers import PHOTOS, STARRY_NIGHT
from preserve.data import ImageFolder, collate
from preserve.faces.embedders import EMBEDDERS
from preserve.faces.index import DETECTORS, Faces
from preserve.registry import ENCODERS, PLUGINS, SEGMENTERS

#: Options a name needs to be built at all (style), or to act on photos that have no side files (mask: without a
#: photo.mask.png its default weight, 0, protects nothing); everything else is built with its defaults.
CONTRACT_OPTIONS = {"style": {"image": str(STARRY_NIGHT), "size": 64}, "mask": {"default": 0.5}}
#: Names whose weights only the user can supply (never fetched); they are checked where the file exists.
USER_WEIGHTS = {"vgg16", "timm", "openface"}
PORTRAITS = [str(PHOTOS / n) for n in ("grace_hopper.jpg", "astronaut.jpg", "dog.jpg")]


def _names(registry) -> list[str]:
    names = registry.names()
    assert not registry.failures(), [f.error for f in registry.failures()]
    return names


@pytest.fixture(scope="module")
def batch(vgg19):
    """Three real photos (two with faces) as 96 px training crops, for every plugin's annotations."""
    return ImageFolder(PORTRAITS, 96, seed=0, random_crop=False, flip=False)


@pytest.mark.parametrize("name", _names(PLUGINS))
def test_plugin_contract(name, vgg19, batch):
    plugin_class = PLUGINS.get(name)
    assert plugin_class.card.name == name, "the registered name must be the card's name"
    assert plugin_class.card.default_weight == plugin_class.card.default_weight  # a number, not NaN
    recipe = preserve.Recipe(vgg19, **{name: {"weight": 1.0, **CONTRACT_OPTIONS.get(name, {})}})
    plugin = recipe.plugins[name]
    json.dumps(plugin.describe())  # options serialise, for logs and 'recipe explain'
    batch.annotations = recipe.annotate(PORTRAITS, progress=False)
    data = collate([batch[i] for i in range(len(batch))])
    content = data.images
    stylized = (content * 0.7 + 0.1 * torch.rand_like(content)).requires_grad_(True)
    # Plugins that run the network again get one, as in training: here a fixed colour map.
    network = (lambda x: x * 0.7 + 0.1) if plugin.needs().network else None
    out = recipe(stylized, content, data.inputs, network=network)
    raw = out.raw[name]
    assert raw.shape == (3,) and torch.isfinite(raw).all() and (raw >= 0).all()
    out.total.backward()
    assert stylized.grad is not None and torch.isfinite(stylized.grad).all()
    assert stylized.grad.abs().sum() > 0, f"{name}: no gradient reaches the stylized image"
    assert all(isinstance(v, float) for v in plugin.stats().values())


@pytest.mark.parametrize("name", _names(ENCODERS))
def test_encoder_contract(name):
    if name in USER_WEIGHTS:
        pytest.skip(f"{name}: weights come from the user's file (tested in its own module where available)")
    encoder = preserve.create_encoder(name)
    assert encoder.layer_names and not any(p.requires_grad for p in encoder.parameters())
    x = torch.rand(1, 3, 48, 48, requires_grad=True)
    feats = encoder(x, encoder.layer_names)
    assert list(feats) == list(encoder.layer_names) or set(feats) == set(encoder.layer_names)
    assert all(torch.isfinite(f).all() and f.shape[0] == 1 for f in feats.values())
    sum(f.float().mean() for f in feats.values()).backward()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", _names(EMBEDDERS))
def test_embedder_contract(name):
    if name in USER_WEIGHTS:
        pytest.skip(f"{name}: weights come from the user's file, never fetched")
    embedder = EMBEDDERS.create(name)
    assert embedder.name == name and not embedder.training
    crops = torch.rand(2, 3, embedder.input_size, embedder.input_size, requires_grad=True)
    emb = embedder(crops)
    assert emb.shape == (2, embedder.dim) and torch.isfinite(emb).all()
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))
    emb[:, 0].sum().backward()
    assert crops.grad.abs().sum() > 0


@pytest.mark.parametrize("name", _names(DETECTORS))
def test_detector_contract(name):
    from preserve.imageio import load_image

    detect = DETECTORS.create(name)
    found = detect(load_image(PHOTOS / "grace_hopper.jpg").rgb)
    assert isinstance(found, Faces) and len(found) >= 1
    n = len(found)
    assert found.boxes.shape == (n, 4) and found.scores.shape == (n,) and found.landmarks.shape[::2] == (n, 2)
    assert (found.boxes[:, 2] > found.boxes[:, 0]).all() and (found.boxes[:, 3] > found.boxes[:, 1]).all()


@pytest.mark.parametrize("name", _names(SEGMENTERS))
def test_segmenter_contract(name):
    from preserve.imageio import load_image, resize

    segment = SEGMENTERS.create(name)
    images = torch.stack([resize(load_image(p).rgb, (96, 96)) for p in PORTRAITS[:2]])
    masks = segment(images)
    assert masks.shape == (2, 1, 96, 96) and float(masks.min()) >= 0 and float(masks.max()) <= 1
