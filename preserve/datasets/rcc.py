"""Read Qt resource files (``.rcc``): the binary archives in which some Debian packages ship their images.

The format is Qt's own (``qresource.cpp``): a ``qres`` header, then three tables at the offsets it names.
The tree is a list of fixed-size nodes (14 bytes in format 1, 22 from format 2 on, which adds a
modification time); a directory node names its first child and its child count, a file node the offset of
its payload in the data table. Names are UTF-16BE strings behind a length and a hash. Payloads may be zlib
(flag 1) or zstd (flag 4) compressed; zlib payloads start with their uncompressed size.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

_COMPRESSED, _DIRECTORY, _ZSTD = 0x1, 0x2, 0x4


class RccError(ValueError):
    """The file is not a Qt resource file this reader understands."""


@dataclass(frozen=True)
class _Header:
    version: int
    tree: int
    data: int
    names: int

    @property
    def node_size(self) -> int:
        return 14 if self.version == 1 else 22


def _header(blob: bytes) -> _Header:
    if len(blob) < 20 or blob[:4] != b"qres":
        raise RccError("not a Qt resource file (no 'qres' magic)")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    if version not in (1, 2, 3):
        raise RccError(f"unsupported Qt resource format {version}")
    if max(tree, data, names) >= len(blob):
        raise RccError("truncated Qt resource file (a table offset lies past its end)")
    return _Header(version, tree, data, names)


def _name(blob: bytes, header: _Header, offset: int) -> str:
    start = header.names + offset
    (length,) = struct.unpack(">H", blob[start:start + 2])
    return blob[start + 6:start + 6 + 2 * length].decode("utf-16-be")


def _payload(blob: bytes, header: _Header, offset: int, flags: int, path: str) -> bytes:
    start = header.data + offset
    (size,) = struct.unpack(">I", blob[start:start + 4])
    raw = blob[start + 4:start + 4 + size]
    if len(raw) != size:
        raise RccError(f"truncated Qt resource file: {path} runs past its end")
    if flags & _ZSTD:
        raise RccError(f"{path} is zstd-compressed, which this reader does not handle")
    if flags & _COMPRESSED:
        return zlib.decompress(raw[4:])
    return raw


def read_rcc(path: str | Path) -> dict[str, bytes]:
    """Every file in a Qt resource file, as ``{"folder/name.ext": bytes}``."""
    blob = Path(path).read_bytes()
    header = _header(blob)
    files: dict[str, bytes] = {}

    def node(index: int) -> tuple[int, int, tuple[int, ...]]:
        start = header.tree + index * header.node_size
        name_offset, flags = struct.unpack(">IH", blob[start:start + 6])
        if flags & _DIRECTORY:
            count, first = struct.unpack(">II", blob[start + 6:start + 14])
            return name_offset, flags, (count, first)
        (data_offset,) = struct.unpack(">I", blob[start + 10:start + 14])
        return name_offset, flags, (data_offset,)

    def walk(index: int, prefix: str, depth: int) -> None:
        if depth > 64:
            raise RccError("Qt resource tree nested too deeply (a cycle?)")
        name_offset, flags, rest = node(index)
        name = "" if index == 0 else _name(blob, header, name_offset)
        path_here = f"{prefix}{name}"
        if flags & _DIRECTORY:
            count, first = rest
            for child in range(first, first + count):
                walk(child, f"{path_here}/" if path_here else "", depth + 1)
        else:
            files[path_here] = _payload(blob, header, rest[0], flags, path_here)

    try:
        walk(0, "", 0)
    except struct.error as exc:
        raise RccError(f"truncated Qt resource file: {exc}") from None
    return files
