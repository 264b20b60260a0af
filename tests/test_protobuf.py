"""The protobuf wire-format reader on messages encoded here by hand (no weights, no protobuf package): varints,
packed and unpacked repeated fields, negative int64, fixed 32/64-bit fields, nested messages, strings."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from preserve.convert.protobuf import Message


def varint(n: int) -> bytes:
    """The wire encoding of an unsigned varint; negative int64 values are sent as their 64-bit two's complement."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, wire: int, payload: bytes) -> bytes:
    return varint(number << 3 | wire) + payload


def length_delimited(number: int, data: bytes) -> bytes:
    return field(number, 2, varint(len(data)) + data)


def test_known_encodings():
    assert varint(1) == b"\x01" and varint(300) == b"\xac\x02"  # the protobuf documentation's examples
    assert Message(b"\x08\x96\x01").int(1) == 150  # 'field 1 = 150' from the same documentation


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
def test_repeated_int64_packed_and_unpacked(values):
    packed = length_delimited(4, b"".join(varint(v) for v in values))
    unpacked = b"".join(field(4, 0, varint(v)) for v in values)
    assert Message(packed).ints(4) == values
    assert Message(unpacked).ints(4) == values
    assert Message(unpacked).int(4) == values[-1]  # a repeated field read as a single value: the last one


def test_negative_int64_takes_ten_bytes_and_reads_back():
    encoded = field(1, 0, varint(-2))
    assert len(encoded) == 11 and Message(encoded).int(1) == -2


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=20))
def test_floats_packed_and_fixed32(values):
    raw = struct.pack(f"<{len(values)}f", *values)
    np.testing.assert_array_equal(Message(length_delimited(5, raw)).floats(5), np.array(values, np.float32))
    single = field(2, 5, struct.pack("<f", values[0]))
    assert Message(single).float(2) == np.float32(values[0])


def test_fixed64_signed_and_nested_messages_and_strings():
    inner = length_delimited(1, "conv1/weights".encode()) + field(2, 0, varint(7))
    outer = length_delimited(3, inner) + length_delimited(3, inner) + field(9, 1, struct.pack("<q", -5))
    msg = Message(outer)
    assert [m.string(1) for m in msg.messages(3)] == ["conv1/weights"] * 2
    assert msg.message(3).int(2) == 7 and msg.int(9) == -5
    assert msg.string(42, "absent") == "absent" and msg.ints(42) == [] and msg.message(42) is None


def test_an_unknown_wire_type_is_refused():
    with pytest.raises(ValueError, match="wire type 3"):
        Message(field(1, 3, b""))  # group start: not used by ONNX or GraphDefs
