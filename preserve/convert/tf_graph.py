"""A frozen TensorFlow GraphDef run as a torch module, without TensorFlow.

:func:`parse_graph` reads the GraphDef with :mod:`preserve.convert.protobuf`
(field numbers named after tensorflow/core/framework/*.proto) into JSON-able
node specs and constant tensors. :class:`TFGraph` executes the nodes the
output depends on, NHWC graphs in NCHW torch ops (convolution weights are
transposed once, on load), so the result is differentiable and runs wherever
torch does. Every op is looked up in :data:`OPS` when the module is built: a
graph with an op outside the table is refused then, naming the ops, not at
the first forward pass.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .protobuf import Message

# GraphDef / NodeDef / AttrValue / TensorProto / TensorShapeProto field numbers (tensorflow/core/framework).
GRAPH_NODE = 1
NODE_NAME, NODE_OP, NODE_INPUT, NODE_ATTR = 1, 2, 3, 5
MAP_KEY, MAP_VALUE = 1, 2
ATTR_LIST, ATTR_S, ATTR_F, ATTR_TENSOR = 1, 2, 4, 8
LIST_I = 3
TENSOR_DTYPE, TENSOR_SHAPE, TENSOR_CONTENT, TENSOR_FLOAT_VAL, TENSOR_INT_VAL = 1, 2, 4, 5, 7
SHAPE_DIM, DIM_SIZE = 2, 1
_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}  # DT_FLOAT, DT_INT32, DT_INT64


def _attr(node: Message) -> dict[str, Message]:
    return {entry.string(MAP_KEY): entry.message(MAP_VALUE) for entry in node.messages(NODE_ATTR)}


def _tensor(value: Message) -> np.ndarray:
    """The TensorProto of an AttrValue as a numpy array."""
    t = value.message(ATTR_TENSOR)
    dtype = _DTYPES.get(t.int(TENSOR_DTYPE))
    if dtype is None:
        raise ValueError(f"unsupported TensorFlow dtype {t.int(TENSOR_DTYPE)}")
    shape_msg = t.message(TENSOR_SHAPE)
    dims = [d.int(DIM_SIZE) for d in shape_msg.messages(SHAPE_DIM)] if shape_msg else []
    content = t.bytes_(TENSOR_CONTENT)
    if content:
        arr = np.frombuffer(content, dtype=dtype)
    elif dtype == np.float32:
        arr = t.floats(TENSOR_FLOAT_VAL)
    else:
        arr = np.array(t.ints(TENSOR_INT_VAL), dtype=dtype)
    count = int(np.prod(dims)) if dims else 1
    if arr.size == 1 and count > 1:
        arr = np.full(count, arr[0], dtype=dtype)
    return arr.reshape(dims).astype(dtype)


def parse_graph(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """The graph's compute nodes (name, op, inputs, attributes) and its constants as tensors."""
    graph = Message(Path(path).read_bytes())
    nodes, consts = [], {}
    for node in graph.messages(GRAPH_NODE):
        name, op = node.string(NODE_NAME), node.string(NODE_OP)
        inputs = [i.split(":")[0] for i in node.strings(NODE_INPUT)]
        attrs = _attr(node)
        if op == "Const":
            consts[name] = torch.from_numpy(_tensor(attrs["value"]).copy())
            continue
        spec: dict[str, Any] = {"name": name, "op": op, "inputs": inputs}
        if "strides" in attrs:
            spec["strides"] = attrs["strides"].message(ATTR_LIST).ints(LIST_I)
        if "ksize" in attrs:
            spec["ksize"] = attrs["ksize"].message(ATTR_LIST).ints(LIST_I)
        if "padding" in attrs:
            spec["padding"] = attrs["padding"].bytes_(ATTR_S).decode()
        if "epsilon" in attrs:
            spec["epsilon"] = attrs["epsilon"].float(ATTR_F)
        if "data_format" in attrs and attrs["data_format"].bytes_(ATTR_S) not in (b"NHWC", b""):
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


Get = Callable[[str], torch.Tensor]


def _conv2d(g: "TFGraph", node: dict[str, Any], get: Get) -> torch.Tensor:
    ins = node["inputs"]
    y, w, s = get(ins[0]), g.const(ins[1]), node["strides"][1:3]
    if node["padding"] == "SAME":
        ph, pw = _same_pad(y.shape[2], w.shape[2], s[0]), _same_pad(y.shape[3], w.shape[3], s[1])
        y = F.pad(y, (pw[0], pw[1], ph[0], ph[1]))
    return F.conv2d(y, w, stride=s)


def _pool(g: "TFGraph", node: dict[str, Any], get: Get) -> torch.Tensor:
    y, k, s = get(node["inputs"][0]), node["ksize"][1:3], node["strides"][1:3]
    if node["padding"] == "SAME":
        ph, pw = _same_pad(y.shape[2], k[0], s[0]), _same_pad(y.shape[3], k[1], s[1])
        if node["op"] == "AvgPool" and any(ph + pw):
            raise ValueError("AvgPool with SAME padding is not supported")
        y = F.pad(y, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
    return F.max_pool2d(y, k, s) if node["op"] == "MaxPool" else F.avg_pool2d(y, k, s)


def _concat(g: "TFGraph", node: dict[str, Any], get: Get) -> torch.Tensor:
    ins = node["inputs"]
    axis = int(g.const(ins[-1]))
    return torch.cat([get(i) for i in ins[:-1]], dim={3: 1, -1: 1, 1: 2, 2: 3}.get(axis, axis))


def _reshape(g: "TFGraph", node: dict[str, Any], get: Get) -> torch.Tensor:
    y = get(node["inputs"][0])
    shape = [int(v) for v in g.const(node["inputs"][1]).tolist()]
    if shape and shape[0] == 1:
        shape[0] = y.shape[0]  # the graph was frozen with batch 1 folded into its shapes
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)  # back to NHWC element order before a reshape
    out = y.reshape(shape)
    return out.permute(0, 3, 1, 2) if out.dim() == 4 else out


def _batch_norm(g: "TFGraph", node: dict[str, Any], get: Get) -> torch.Tensor:
    y = get(node["inputs"][0])
    scale, offset, mean, var = (g.const(i) for i in node["inputs"][1:5])
    shape = (1, -1, 1, 1) if y.dim() == 4 else (1, -1)
    return (y - mean.view(shape)) * torch.rsqrt(var.view(shape) + node.get("epsilon", 1e-3)) \
        * scale.view(shape) + offset.view(shape)


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[["TFGraph", dict[str, Any], Get], torch.Tensor]:
    return lambda g, node, get: fn(get(node["inputs"][0]))


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
            ) -> Callable[["TFGraph", dict[str, Any], Get], torch.Tensor]:
    return lambda g, node, get: fn(get(node["inputs"][0]), get(node["inputs"][1]))


#: Every TensorFlow op the runner executes, by name: ``(graph, node, get) -> output``.
OPS: dict[str, Callable[["TFGraph", dict[str, Any], Get], torch.Tensor]] = {
    "Conv2D": _conv2d,
    "BiasAdd": lambda g, node, get: get(node["inputs"][0]) + g.const(node["inputs"][1]).view(1, -1, 1, 1),
    "Relu": _unary(F.relu),
    "MaxPool": _pool,
    "AvgPool": _pool,
    "ConcatV2": _concat,
    "Add": _binary(torch.add),
    "AddV2": _binary(torch.add),
    "Mul": _binary(torch.mul),
    "Maximum": _binary(torch.maximum),
    "Reshape": _reshape,
    "FusedBatchNorm": _batch_norm,
    "MatMul": lambda g, node, get: get(node["inputs"][0]).flatten(1) @ g.const(node["inputs"][1]),
    "Square": _unary(lambda x: x.pow(2)),
    "Sum": lambda g, node, get: get(node["inputs"][0]).sum(dim=int(g.const(node["inputs"][1])))[:, None],
    "Rsqrt": _unary(torch.rsqrt),
    "Identity": _unary(lambda x: x),
}


class TFGraph(nn.Module):
    """Executes a parsed NHWC TensorFlow graph in NCHW torch ops; refuses unknown ops when built."""

    def __init__(self, nodes: list[dict[str, Any]], consts: dict[str, torch.Tensor], input_name: str,
                 output_name: str) -> None:
        super().__init__()
        self.nodes = [n for n in _topological(nodes, output_name, set(consts)) if n["op"] != "Placeholder"]
        unsupported = sorted({n["op"] for n in self.nodes} - set(OPS))
        if unsupported:
            raise ValueError(f"TensorFlow op(s) {unsupported} are not supported (the runner knows {sorted(OPS)})")
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
            values[node["name"]] = OPS[node["op"]](self, node, get)
        return values[self.output_name]
