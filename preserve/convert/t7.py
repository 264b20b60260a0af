"""Torch7's binary serialisation (``.t7`` files), read without Lua Torch.

:func:`read_t7` returns nested Python values: numbers, strings, booleans,
tables as dicts, tensors and storages as numpy arrays, and class instances
(``nn.SpatialConvolution``, ...) as :class:`T7Object` dicts with a
``torch_type``. Serialised functions are refused.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_NIL, _NUMBER, _STRING, _TABLE, _TORCH, _BOOLEAN = 0, 1, 2, 3, 4, 5
_FUNCTIONS = (6, 7, 8)
_STORAGE_DTYPES = {"torch.FloatStorage": "<f4", "torch.DoubleStorage": "<f8", "torch.LongStorage": "<i8",
                   "torch.IntStorage": "<i4", "torch.ByteStorage": "u1"}


class T7Object(dict):
    """A Torch7 class instance: its fields, plus ``torch_type``."""

    torch_type: str = ""


class _T7Reader:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.memo: dict[int, Any] = {}

    def int(self) -> int:
        return struct.unpack("<i", self.fh.read(4))[0]

    def long(self) -> int:
        return struct.unpack("<q", self.fh.read(8))[0]

    def string(self) -> str:
        return self.fh.read(self.int()).decode("latin-1")

    def read(self) -> Any:
        kind = self.int()
        if kind == _NIL:
            return None
        if kind == _NUMBER:
            value = struct.unpack("<d", self.fh.read(8))[0]
            return int(value) if value.is_integer() else value
        if kind == _STRING:
            return self.string()
        if kind == _BOOLEAN:
            return self.int() == 1
        if kind in _FUNCTIONS:
            raise ValueError("Torch7 files with serialised functions are not supported")
        index = self.int()
        if index in self.memo:
            return self.memo[index]
        if kind == _TABLE:
            table: dict[Any, Any] = {}
            self.memo[index] = table
            for _ in range(self.int()):
                key = self.read()
                table[key] = self.read()
            return table
        if kind == _TORCH:
            version = self.string()
            cls = self.string() if version.startswith("V ") else version
            if cls in _STORAGE_DTYPES:
                n = self.long()
                dtype = np.dtype(_STORAGE_DTYPES[cls])
                value: Any = np.frombuffer(self.fh.read(n * dtype.itemsize), dtype=dtype)
            elif cls.endswith("Tensor"):
                ndim = self.int()
                sizes = [self.long() for _ in range(ndim)]
                strides = [self.long() for _ in range(ndim)]
                offset = self.long() - 1
                storage = self.read()
                if ndim == 0 or storage is None:
                    value = np.zeros(0, np.float32)
                else:
                    itemsize = storage.dtype.itemsize
                    value = np.lib.stride_tricks.as_strided(storage[offset:], sizes, [s * itemsize for s in strides])
                    value = np.array(value)
            else:
                obj = T7Object()
                obj.torch_type = cls
                self.memo[index] = obj
                fields = self.read()
                obj.update(fields or {})
                return obj
            self.memo[index] = value
            return value
        raise ValueError(f"unknown Torch7 type tag {kind}")


def read_t7(path: str | Path) -> Any:
    with open(path, "rb") as fh:
        return _T7Reader(fh).read()
