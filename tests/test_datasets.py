"""preserve data build on a tiny source, the Qt resource reader, and the paintings rebuilt from Debian."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from helpers import PHOTOS, STYLES
from preserve.cli import main
from preserve.datasets.build import _Candidate, build, held_out, readme_licences
from preserve.datasets.paintings import fill_gaps, reassemble
from preserve.datasets.rcc import RccError, read_rcc


def _candidate(name, path, split=None):
    return _Candidate(name, "test", str(path), "people", "CC0", lambda: Image.open(path), split)


def test_build_on_a_tiny_source(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((PHOTOS / "dog.jpg").read_bytes()[:400])
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (120, 90)).save(tiny)
    names = [f"photo{i}" for i in range(30)]
    candidates = [_candidate(n, PHOTOS / "astronaut.jpg") for n in names]
    candidates += [_candidate("portrait", PHOTOS / "grace_hopper.jpg", "tune"), _candidate("broken", corrupt),
                   _candidate("tiny", tiny)]
    out = tmp_path / "data"
    records = build(out, size=128, candidates=iter(candidates), progress=False)
    expected_eval = sorted(n for n in names if held_out(n))
    assert 0 < len(expected_eval) < 30  # the hash rule puts some, not all, in evaluation
    assert sorted(p.stem for p in (out / "eval").iterdir()) == expected_eval
    assert [p.name for p in (out / "tune").iterdir()] == ["portrait.jpg"]
    assert len(records["train"]) == 30 - len(expected_eval)
    with Image.open(out / "train" / f"{sorted(set(names) - set(expected_eval))[0]}.jpg") as img:
        assert min(img.size) == 128  # the 384x384 astronaut scaled to its shorter side
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 30 - len(expected_eval), "tune": 1, "eval": len(expected_eval)}
    assert {s["name"] for s in manifest["skipped"]} == {"broken", "tiny"}
    assert all(p["licence"] == "CC0" and p["original_size"] == [384, 384] for p in manifest["photos"]
               if p["split"] != "tune")
    # A second build keeps what is there; a photo found in the wrong split is refused.
    build(out, size=128, candidates=iter(candidates[:3]), progress=False)
    (out / "eval").mkdir(exist_ok=True)
    moved = sorted(set(names) - set(expected_eval))[0]
    (out / "train" / f"{moved}.jpg").rename(out / "eval" / f"{moved}.jpg")
    with pytest.raises(FileExistsError, match="another rule"):
        build(out, size=128, candidates=iter(candidates), progress=False)


def test_build_refuses_a_bad_size_and_an_unknown_source(tmp_path, capsys):
    with pytest.raises(ValueError, match="at least 64"):
        build(tmp_path, size=8, candidates=iter([]))
    assert main(["data", "build", str(tmp_path), "--source", "flickr"]) == 2
    assert "unknown source(s) flickr" in capsys.readouterr().err


def test_readme_licences_reads_gcompris_blocks():
    readme = ("Copyright: A\nLicense: CC0\nFiles:\ncat.webp\ndog.webp\n\n"
              "Copyright: B\nSource: https://example.org\nLicense: CC-BY-SA-4.0\nFiles: swan.webp\n")
    assert readme_licences(readme) == {"cat.webp": "CC0", "dog.webp": "CC0", "swan.webp": "CC-BY-SA-4.0"}


def _rcc(files: dict[str, bytes], compress: set[str]) -> bytes:
    """A Qt resource file (format 2) holding ``files`` in one folder ``pics``, written from Qt's layout."""
    names, data, tree = b"", b"", []

    def name_offset(name: str) -> int:
        nonlocal names
        offset = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
        return offset

    root = struct.pack(">IHII", 0, 2, 1, 1) + bytes(8)
    folder = struct.pack(">IHII", name_offset("pics"), 2, len(files), 2) + bytes(8)
    tree = [root, folder]
    for name, payload in files.items():
        flags = 1 if name in compress else 0
        body = struct.pack(">I", len(payload)) + zlib.compress(payload) if flags else payload
        tree.append(struct.pack(">IHHHI", name_offset(name), flags, 0, 0, len(data)) + bytes(8))
        data += struct.pack(">I", len(body)) + body
    tree_blob = b"".join(tree)
    header = 24
    return (b"qres" + struct.pack(">IIIII", 2, header, header + len(tree_blob), header + len(tree_blob) + len(data), 0)
            + tree_blob + data + names)


def test_read_rcc_reads_plain_and_zlib_files(tmp_path):
    files = {"a.txt": b"hello", "b.bin": bytes(range(200)) * 5}
    path = tmp_path / "x.rcc"
    path.write_bytes(_rcc(files, compress={"b.bin"}))
    assert read_rcc(path) == {"pics/a.txt": b"hello", "pics/b.bin": files["b.bin"]}
    path.write_bytes(b"PK\x03\x04 not an rcc file at all")
    with pytest.raises(RccError, match="qres"):
        read_rcc(path)
    path.write_bytes(_rcc(files, compress=set())[:60])
    with pytest.raises(RccError, match="truncated"):
        read_rcc(path)


def test_reassemble_puts_pieces_back_and_fills_the_seams():
    rng = np.random.default_rng(0)
    painting = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    pieces, lines = {}, []
    for i, (x0, y0) in enumerate([(0, 0), (30, 0), (0, 20), (30, 20)]):
        piece = painting.crop((x0, y0, x0 + 30, y0 + 20)).convert("RGBA")
        if i == 3:
            piece.putpixel((0, 0), (0, 0, 0, 0))  # a transparent seam pixel
        buffer = io.BytesIO()
        piece.save(buffer, "WEBP", lossless=True)
        pieces[f"p{i}.webp"] = buffer.getvalue()
        lines.append(f'{{ "pixmapfile" : "image/p{i}.webp", "x" : "{(x0 + 15 + 10) / 80}", '
                     f'"y" : "{(y0 + 10 + 5) / 50}" }}')
    board = '{ "pixmapfile" : "image/bg.svg", "width": 80, "height": 50 },\n' + ",\n".join(lines)
    out = np.asarray(reassemble(board, pieces), dtype=int)
    expected = np.asarray(painting, dtype=int)
    assert out.shape == expected.shape
    mask = np.ones(out.shape[:2], bool)
    mask[20, 30] = False
    assert np.array_equal(out[mask], expected[mask])
    assert np.abs(out[20, 30] - expected[19:22, 29:32].reshape(-1, 3).mean(0)).max() < 80  # filled, not black
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 255))
    assert np.asarray(fill_gaps(rgba)).tolist() == np.full((4, 4, 3), [10, 20, 30]).tolist()


@pytest.mark.slow
def test_the_great_wave_rebuilt_from_debian_matches_the_shipped_image(tmp_path):
    import shutil

    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not available: the paintings come from Debian packages")
    assert main(["data", "styles", str(tmp_path), "--name", "great_wave"]) == 0
    ours = np.asarray(Image.open(tmp_path / "great_wave.jpg"), dtype=float)
    shipped = np.asarray(Image.open(STYLES / "great_wave.jpg"), dtype=float)
    assert ours.shape == shipped.shape == (450, 665, 3)
    assert np.abs(ours - shipped).mean() < 1.0
