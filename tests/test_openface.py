"""OpenFace nn4.small2: the architecture against its published size, and the Torch7 weight loader."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from torch import nn

from preserve.faces.embedders import EMBEDDERS
from preserve.convert.t7 import read_t7
from preserve.faces.openface import NN4Small2, load_t7


def test_architecture_has_the_published_parameter_count():
    net = NN4Small2()
    assert sum(p.numel() for p in net.parameters()) == 3_733_968  # nn4.small2.def.lua, embSize 128
    with torch.no_grad():
        assert net.eval()(torch.rand(2, 3, 96, 96)).shape == (2, 128)


class _T7Writer:
    """Just enough of Torch7's serialiser to write an nn4.small2-shaped network for the loader test."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.next_index = 1

    def int(self, v: int) -> None:
        self.out += struct.pack("<i", v)

    def string(self, s: str) -> None:
        data = s.encode()
        self.int(len(data))
        self.out += data

    def number(self, v: float) -> None:
        self.int(1)
        self.out += struct.pack("<d", v)

    def str_value(self, s: str) -> None:
        self.int(2)
        self.string(s)

    def _index(self) -> int:
        self.next_index += 1
        return self.next_index - 1

    def tensor(self, arr: np.ndarray) -> None:
        self.int(4)
        self.int(self._index())
        self.string("V 1")
        self.string("torch.FloatTensor")
        self.int(arr.ndim)
        for s in arr.shape:
            self.out += struct.pack("<q", s)
        strides = np.array(arr.strides) // arr.itemsize
        for s in strides:
            self.out += struct.pack("<q", int(s))
        self.out += struct.pack("<q", 2)  # 1-based storage offset: one leading padding value
        self.int(4)
        self.int(self._index())
        self.string("V 1")
        self.string("torch.FloatStorage")
        flat = np.concatenate([[np.float32(123.0)], arr.astype(np.float32).ravel()])
        self.out += struct.pack("<q", flat.size)
        self.out += flat.astype("<f4").tobytes()

    def table(self, items: dict) -> None:
        self.int(3)
        self.int(self._index())
        self.int(len(items))
        for k, v in items.items():
            self.number(k) if isinstance(k, int) else self.str_value(k)
            v() if callable(v) else (self.number(v) if isinstance(v, (int, float)) else self.str_value(v))

    def module(self, cls: str, fields: dict) -> None:
        self.int(4)
        self.int(self._index())
        self.string("V 1")
        self.string(cls)
        self.table(fields)


def _write_fake_t7(path, net: NN4Small2) -> None:
    """Serialise ``net`` as a flat Torch7 nn.Sequential (SpatialConvolutionMM keeps 2-D weights)."""
    w = _T7Writer()
    layers = net.parameter_layers()

    def layer_writer(m: nn.Module):
        def write():
            if isinstance(m, nn.Conv2d):
                fields = {"weight": lambda: w.tensor(m.weight.detach().numpy().reshape(m.out_channels, -1)),
                          "bias": lambda: w.tensor(m.bias.detach().numpy())}
                w.module("nn.SpatialConvolutionMM", fields)
            elif isinstance(m, nn.BatchNorm2d):
                fields = {key: (lambda t=getattr(m, key): w.tensor(t.detach().numpy()))  # noqa: B008 - binds now
                          for key in ("weight", "bias", "running_mean", "running_var")}
                fields["eps"] = 1e-5
                w.module("nn.SpatialBatchNormalization", fields)
            else:
                w.module("nn.Linear", {"weight": lambda: w.tensor(m.weight.detach().numpy()),
                                       "bias": lambda: w.tensor(m.bias.detach().numpy())})
        return write

    modules = {i + 1: layer_writer(m) for i, m in enumerate(layers)}
    w.module("nn.Sequential", {"modules": lambda: w.table(modules), "train": "false"})
    path.write_bytes(bytes(w.out))


def test_t7_loader_restores_every_parameter(tmp_path):
    torch.manual_seed(0)
    source = NN4Small2()
    for m in source.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    _write_fake_t7(tmp_path / "nn4.small2.t7", source)
    assert read_t7(tmp_path / "nn4.small2.t7").torch_type == "nn.Sequential"
    loaded = load_t7(tmp_path / "nn4.small2.t7")
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(source.eval()(x), loaded(x))
    embedder = EMBEDDERS.create("openface", path=str(tmp_path / "nn4.small2.t7"))
    assert embedder(torch.rand(2, 3, 96, 96)).shape == (2, 128)


def test_missing_weights_say_why():
    with pytest.raises(FileNotFoundError, match="not published on any package registry"):
        EMBEDDERS.create("openface", path="/nonexistent/nn4.small2.v1.t7")
