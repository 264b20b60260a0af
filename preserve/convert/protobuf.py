"""A minimal reader of the protobuf wire format, for ONNX models and TensorFlow GraphDefs.

Converting the pinned face-embedding files once into torch state dicts needs
only their nodes, attributes and tensors; reading the wire format directly
avoids depending on onnx or TensorFlow (and on their protobuf versions) at
run time. Only what those two schemas use is implemented: varints, 64-bit,
length-delimited and 32-bit fields.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from typing import Any

import numpy as np

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class Message:
    """A parsed message: ``fields[number]`` is the list of raw values in file order."""

    __slots__ = ("fields",)

    def __init__(self, data: bytes | memoryview) -> None:
        self.fields: dict[int, list[Any]] = defaultdict(list)
        buf = memoryview(data)
        pos, end = 0, len(buf)
        while pos < end:
            key, pos = _varint(buf, pos)
            number, wire = key >> 3, key & 7
            if wire == VARINT:
                value, pos = _varint(buf, pos)
            elif wire == I64:
                value, pos = bytes(buf[pos:pos + 8]), pos + 8
            elif wire == LEN:
                length, pos = _varint(buf, pos)
                value, pos = buf[pos:pos + length], pos + length
            elif wire == I32:
                value, pos = bytes(buf[pos:pos + 4]), pos + 4
            else:
                raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
            self.fields[number].append(value)

    def messages(self, number: int) -> list["Message"]:
        return [Message(v) for v in self.fields.get(number, [])]

    def message(self, number: int) -> "Message | None":
        values = self.fields.get(number)
        return Message(values[-1]) if values else None

    def string(self, number: int, default: str = "") -> str:
        values = self.fields.get(number)
        return bytes(values[-1]).decode("utf-8") if values else default

    def strings(self, number: int) -> list[str]:
        return [bytes(v).decode("utf-8") for v in self.fields.get(number, [])]

    def bytes_(self, number: int) -> bytes:
        values = self.fields.get(number)
        return bytes(values[-1]) if values else b""

    def int(self, number: int, default: int = 0) -> int:
        values = self.fields.get(number)
        if not values:
            return default
        v = values[-1]
        return _signed(v) if isinstance(v, int) else int.from_bytes(v, "little", signed=True)

    def ints(self, number: int) -> list[int]:
        """Repeated integers, packed or not."""
        out: list[int] = []
        for v in self.fields.get(number, []):
            if isinstance(v, int):
                out.append(_signed(v))
            else:
                buf, pos = memoryview(v), 0
                while pos < len(buf):
                    x, pos = _varint(buf, pos)
                    out.append(_signed(x))
        return out

    def float(self, number: int, default: float = 0.0) -> float:
        values = self.fields.get(number)
        return struct.unpack("<f", values[-1])[0] if values else default

    def floats(self, number: int) -> np.ndarray:
        """Repeated 32-bit floats, packed or not."""
        parts = [np.frombuffer(bytes(v), dtype="<f4") for v in self.fields.get(number, [])]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v
