"""Small ONNX graphs (Conv, BatchNormalization, PRelu, Flatten, Gemm, Sub/Mul by a constant, and Add of
two activations for residual networks) as torch modules: ``nn.Sequential`` for a chain, :class:`OnnxGraph`
when an Add joins two branches.

:func:`convert_onnx_chain` reads the nodes with :mod:`preserve.convert.protobuf`
into a JSON-able layer list and a state dict; :func:`build_chain` rebuilds the
module from them, so a cached conversion needs neither the ONNX file nor any
ONNX package. An op outside :data:`SUPPORTED_OPS` is refused while reading,
naming the op.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .protobuf import Message

# ONNX schema field numbers used here.
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INIT = 1, 5
_NODE_INPUT, _NODE_OP, _NODE_ATTR = 1, 4, 5
_ATTR_NAME, _ATTR_F, _ATTR_I, _ATTR_INTS = 1, 2, 3, 8
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_FLOATS, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 4, 8, 9

SUPPORTED_OPS = frozenset({"Sub", "Mul", "Conv", "BatchNormalization", "PRelu", "Dropout", "Flatten", "Gemm",
                           "Add"})


def _tensor(msg: Message) -> np.ndarray:
    if msg.int(_TENSOR_TYPE) != 1:
        raise ValueError(f"ONNX tensor {msg.string(_TENSOR_NAME)!r}: only float32 is supported")
    dims = msg.ints(_TENSOR_DIMS)
    raw = msg.bytes_(_TENSOR_RAW)
    data = np.frombuffer(raw, dtype="<f4") if raw else msg.floats(_TENSOR_FLOATS)
    return data.reshape(dims).astype(np.float32)


def _attrs(node: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.messages(_NODE_ATTR):
        name = a.string(_ATTR_NAME)
        if a.fields.get(_ATTR_INTS):
            out[name] = a.ints(_ATTR_INTS)
        elif a.fields.get(_ATTR_I):
            out[name] = a.int(_ATTR_I)
        elif a.fields.get(_ATTR_F):
            out[name] = a.float(_ATTR_F)
    return out


def convert_onnx_chain(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """Read a chain-shaped ONNX graph into a layer list and a state dict for :func:`build_chain`."""
    graph = Message(Path(path).read_bytes()).message(_MODEL_GRAPH)
    if graph is None:
        raise ValueError(f"{path}: no graph in this ONNX file")
    unsupported = sorted({n.string(_NODE_OP) for n in graph.messages(_GRAPH_NODE)} - SUPPORTED_OPS)
    if unsupported:
        raise ValueError(f"{path}: ONNX op(s) {unsupported} are not supported by the chain converter "
                         f"(it reads {sorted(SUPPORTED_OPS)})")
    inits = {t.string(_TENSOR_NAME): _tensor(t) for t in graph.messages(_GRAPH_INIT)}
    layers: list[dict[str, Any]] = []
    state: dict[str, torch.Tensor] = {}
    renamed: dict[str, str] = {}  # outputs of skipped ops (Dropout) are their inputs
    for node in graph.messages(_GRAPH_NODE):
        op, inputs, attrs = node.string(_NODE_OP), node.strings(_NODE_INPUT), _attrs(node)
        inputs = [renamed.get(name, name) for name in inputs]
        i = len(layers)
        wiring = {"inputs": [name for name in inputs if name not in inits], "output": node.strings(2)[0]}
        if op == "Add":
            if len(wiring["inputs"]) != 2:
                raise ValueError("only Add of two activations is supported")
            layers.append({"op": "add", **wiring})
            continue
        if op in ("Sub", "Mul"):
            layers.append({"op": op.lower(), "value": float(inits[inputs[1]].reshape(-1)[0])})
        elif op == "Conv":
            w = inits[inputs[1]]
            pads = attrs.get("pads", [0, 0, 0, 0])
            if pads[:2] != pads[2:]:
                raise ValueError("asymmetric Conv padding is not supported")
            layers.append({"op": "conv", "in": int(w.shape[1] * attrs.get("group", 1)), "out": int(w.shape[0]),
                           "kernel": list(w.shape[2:]), "stride": attrs.get("strides", [1, 1]),
                           "padding": pads[:2], "groups": attrs.get("group", 1), "bias": len(inputs) > 2})
            state[f"{i}.weight"] = torch.from_numpy(w)
            if len(inputs) > 2:
                state[f"{i}.bias"] = torch.from_numpy(inits[inputs[2]])
        elif op == "BatchNormalization":
            gamma, beta, mean, var = (inits[n] for n in inputs[1:5])
            layers.append({"op": "bn", "channels": int(gamma.shape[0]), "eps": float(attrs.get("epsilon", 1e-5))})
            for key, arr in zip(("weight", "bias", "running_mean", "running_var"), (gamma, beta, mean, var)):
                state[f"{i}.{key}"] = torch.from_numpy(arr)
        elif op == "PRelu":
            slope = inits[inputs[1]].reshape(-1)
            layers.append({"op": "prelu", "channels": int(slope.shape[0])})
            state[f"{i}.weight"] = torch.from_numpy(slope)
        elif op == "Dropout":
            renamed[wiring["output"]] = inputs[0]  # identity at inference
            continue
        elif op == "Flatten":
            layers.append({"op": "flatten"})
        elif op == "Gemm":
            if attrs.get("transB", 0) != 1 or attrs.get("transA", 0) != 0:
                raise ValueError("only Gemm with transB=1 is supported")
            w = inits[inputs[1]]
            layers.append({"op": "linear", "in": int(w.shape[1]), "out": int(w.shape[0])})
            state[f"{i}.weight"] = torch.from_numpy(w)
            state[f"{i}.bias"] = torch.from_numpy(inits[inputs[2]])
        else:
            raise ValueError(f"ONNX op {op!r} is not supported by the chain converter")
        layers[-1].update(wiring)
    return layers, state


class _Affine(nn.Module):
    def __init__(self, op: str, value: float) -> None:
        super().__init__()
        self.op, self.value = op, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.value if self.op == "sub" else x * self.value


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class OnnxGraph(nn.Module):
    """Modules run in the graph's order, each on the named values its node read: a residual network.

    Submodules are named by their position, as in ``nn.Sequential``, so one state dict fits both."""

    def __init__(self, modules: list[nn.Module], wiring: list[dict[str, Any]]) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)
        self.wiring = [(list(w["inputs"]), w["output"]) for w in wiring]
        produced = {out for _, out in self.wiring}
        self.input_name = next(n for ins, _ in self.wiring for n in ins if n not in produced)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_name: x}
        for module, (inputs, output) in zip(self.children(), self.wiring):
            values[output] = module(*(values[name] for name in inputs))
        return values[self.wiring[-1][1]]


def build_chain(layers: list[dict[str, Any]]) -> nn.Module:
    """The module of a converted layer list: ``nn.Sequential`` for a chain, :class:`OnnxGraph` with an Add."""
    modules: list[nn.Module] = []
    for spec in layers:
        op = spec["op"]
        if op in ("sub", "mul"):
            modules.append(_Affine(op, spec["value"]))
        elif op == "conv":
            modules.append(nn.Conv2d(spec["in"], spec["out"], tuple(spec["kernel"]), tuple(spec["stride"]),
                                     tuple(spec["padding"]), groups=spec["groups"], bias=spec["bias"]))
        elif op == "bn":
            last = next((m for m in reversed(modules) if not isinstance(m, (nn.PReLU, _Affine))), None)
            bn_cls = nn.BatchNorm1d if isinstance(last, (nn.Linear, nn.Flatten)) else nn.BatchNorm2d
            modules.append(bn_cls(spec["channels"], eps=spec["eps"]))
        elif op == "prelu":
            modules.append(nn.PReLU(spec["channels"]))
        elif op == "flatten":
            modules.append(nn.Flatten())
        elif op == "linear":
            modules.append(nn.Linear(spec["in"], spec["out"]))
        elif op == "add":
            modules.append(_Add())
        else:
            raise ValueError(f"unknown layer {op!r}")
    if any(spec["op"] == "add" for spec in layers):
        return OnnxGraph(modules, layers)
    return nn.Sequential(*modules)
