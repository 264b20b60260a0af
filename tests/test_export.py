"""ONNX export with dynamic sizes, onnxruntime parity, and the CLI round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import PHOTOS
from preserve.cli import main
from preserve.export import OnnxStylizer, export_onnx
from preserve.models.transformer_net import TransformerNet
from preserve.stylize import load_model, save_model, stylize_tensor

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    net = TransformerNet(width=16)
    with torch.no_grad():
        for p in net.parameters():  # move away from init so the output is not nearly constant
            p.add_(0.05 * torch.randn_like(p))
    return save_model(net, tmp_path_factory.mktemp("m") / "model.pt", steps=1)


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 33, 47), (1, 3, 130, 257)])
def test_onnxruntime_matches_torch_at_any_size(tmp_path, model_file, shape):
    onnx_path = export_onnx(model_file, tmp_path / "m.onnx")
    x = torch.rand(*shape)
    expected = stylize_tensor(load_model(model_file), x)
    got = stylize_tensor(OnnxStylizer(onnx_path), x)
    assert got.shape == shape
    assert float((got - expected).abs().max()) < 1e-4


def test_cli_export_and_stylize_with_onnxruntime(tmp_path, model_file, capsys):
    assert main(["export", "--model", str(model_file), "--out", str(tmp_path / "m.onnx")]) == 0
    img = PHOTOS / "kite.jpg"
    assert main(["stylize", str(img), "--model", str(tmp_path / "m.onnx"), "--backend", "onnxruntime",
                 "--out", str(tmp_path / "ort"), "--no-progress"]) == 0
    assert main(["stylize", str(img), "--model", str(model_file), "--out", str(tmp_path / "pt"), "--no-progress",
                 "--fp32"]) == 0  # onnxruntime runs fp32; torch's default is bf16 where the CPU has it
    a = np.asarray(Image.open(tmp_path / "ort" / "kite.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "pt" / "kite.png"), dtype=np.int16)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1  # at most one 8-bit step apart
    # a model.pt given to the onnxruntime backend is exported once into the cache
    assert main(["stylize", str(img), "--model", str(model_file), "--backend", "onnxruntime",
                 "--out", str(tmp_path / "ort2"), "--no-progress"]) == 0
    assert (tmp_path / "ort2" / "kite.png").is_file()
    assert main(["stylize", str(img), "--model", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "x")]) == 2
    assert "--backend onnxruntime" in capsys.readouterr().err


def test_bf16_inference_stays_close_to_fp32(model_file):
    from preserve.stylize import for_inference

    net = load_model(model_file)
    x = torch.rand(1, 3, 48, 40)
    fast = for_inference(net, bf16=True)
    assert next(fast.parameters()).dtype == torch.bfloat16 and next(net.parameters()).dtype == torch.float32
    diff = (stylize_tensor(fast, x) - stylize_tensor(net, x)).abs()
    assert diff.shape == (1, 3, 48, 40) and float(diff.mean()) < 0.02
