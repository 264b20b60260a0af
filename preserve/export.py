"""Exporting a trained style network to ONNX, and running it with onnxruntime.

The export goes through ``torch.onnx.export`` with dynamic batch, height and
width, so one file stylizes images of any size (odd sizes included: the
network computes its upsampling sizes from its input).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write
from .models.io import ModelFileError, load_model

OPSET = 17


def export_onnx(model: torch.nn.Module | str | os.PathLike[str], out: str | os.PathLike[str],
                opset: int = OPSET) -> Path:
    """Write ``model`` (a style network or a model.pt path) to ``out`` as ONNX with dynamic H and W.

    A multi-style network is exported painting its current style (``set_style``), which is baked in."""
    net = model if isinstance(model, torch.nn.Module) else load_model(model)
    net = copy.deepcopy(net).float().eval()
    dims = {0: "batch", 2: "height", 3: "width"}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter warns about constant folding of dynamic slices
            torch.onnx.export(net, (torch.rand(1, 3, 64, 64),), str(tmp), input_names=["image"],
                              output_names=["stylized"], dynamic_axes={"image": dims, "stylized": dims},
                              opset_version=opset, dynamo=False)

    return atomic_write(out, write)


class OnnxStylizer:
    """Runs an exported style network with onnxruntime on the CPU: ``(B, 3, H, W)`` in [0, 1] in and out."""

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ImportError("the onnxruntime backend needs onnxruntime: pip install 'preserve[onnx]'") from exc
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own classes for every kind of bad file
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise ModelFileError(f"{path}: not a usable ONNX model ({reason})") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = np.ascontiguousarray(images.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {self.input_name: x})[0])
