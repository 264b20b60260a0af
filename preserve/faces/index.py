"""Face detections for training content images, computed once and kept in a sidecar index.

Detection runs on the content images only, so each dataset file is detected
once and the result is stored next to the data (``.preserve-faces.json`` in
the data folder, or under ``$PRESERVE_HOME/faces`` when that folder is not
writable), keyed by path, file size and modification time: a changed file is
detected again, an unchanged one never. During training, the
:class:`~preserve.faces.detections.Detections` follow each random crop and flip exactly.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

from ..atomic import atomic_write_text
from .detections import FLIP_LANDMARKS, Detections, FaceBatch  # noqa: F401 - importable from here
from ..imageio import ImageReadError, load_image
from ..registry import DETECTORS
from ..weights import home

INDEX_NAME = ".preserve-faces.json"
INDEX_VERSION = 1
#: The name this module has always used for :class:`~preserve.faces.detections.Detections` (the same type).
Faces = Detections


def _index_path(root: Path, name: str = INDEX_NAME) -> Path:
    sidecar = root / name
    if os.access(root, os.W_OK) or sidecar.exists() and os.access(sidecar, os.W_OK):
        return sidecar
    digest = hashlib.sha1(f"{root.resolve()}/{name}".encode()).hexdigest()[:16]
    return home() / "faces" / f"{digest}.json"


Detector = Callable[[torch.Tensor], Detections]
"""Maps one RGB image ``(3, H, W)`` in [0, 1] to its detections (boxes, scores, optional landmarks)."""


class DetectionIndex:
    """Cached detections of any detector for the image files under one or more roots.

    ``key`` identifies the detector and its settings; a sidecar written with
    another key is discarded and rebuilt. ``index_name`` is the sidecar's file
    name, so several detectors can index the same folder.
    """

    def __init__(self, make_detector: Callable[[], Detector], key: dict[str, Any], index_name: str,
                 max_side: int = 1024) -> None:
        self._make_detector = make_detector  # called on the first file that needs detecting, not before
        self._detector: Detector | None = None
        # Through JSON once, so the key compares equal to the one read back from the sidecar (tuples -> lists).
        self.key = json.loads(json.dumps({"version": INDEX_VERSION, **key, "max_side": max_side}))
        self.index_name = index_name
        self.max_side = max_side

    @classmethod
    def registered(cls, name: str, options: dict[str, Any], index_name: str, max_side: int = 1024
                   ) -> "DetectionIndex":
        """The index of a detector from the registry.

        The key holds the detector's *effective* options (its defaults filled in), so an index made
        with ``min_face_size=20`` spelled out and one made with the default are the same index.
        """
        factory = DETECTORS.get(name)
        effective = _effective_options(factory, options)
        return cls(lambda: factory(**options), {"detector": name, "options": effective}, index_name, max_side)

    def detector(self) -> Detector:
        if self._detector is None:
            self._detector = self._make_detector()
        return self._detector

    def build(self, files: Iterable[str | os.PathLike[str]], roots: Sequence[str | os.PathLike[str]] | None = None,
              progress: bool = True) -> dict[str, Detections]:
        """Detections for every file (keyed by the path string given), detecting only new or changed files.

        One index is kept per root folder; ``roots`` defaults to the top-most
        folders that hold the files.
        """
        # Absolute but not resolved: a folder of symlinks (e.g. 'preserve faces split') is indexed where the
        # links are, not where they point.
        resolved = {str(f): Path(os.path.abspath(f)) for f in files}
        root_list = ([Path(os.path.abspath(r)) for r in roots] if roots
                     else _common_roots({p.parent for p in resolved.values()}))
        found: dict[Path, Detections] = {}
        for root in root_list:
            members = [p for p in resolved.values() if root in p.parents and p not in found]
            found.update(self._build_root(root, members, progress))
        missing = [p for p in resolved.values() if p not in found]
        if missing:
            raise ValueError(f"{missing[0]} is not under any of the roots {[str(r) for r in root_list]}")
        return {given: found[p] for given, p in resolved.items()}

    def _build_root(self, root: Path, files: list[Path], progress: bool) -> dict[Path, Detections]:
        path = _index_path(root, self.index_name)
        data = _read(path)
        if data.get("key") != self.key:
            if data:
                print(f"preserve: {path} was made with other detector settings ({data.get('key')}); "
                      "detecting again", file=sys.stderr)
            data = {"key": self.key, "images": {}}
        images: dict[str, Any] = data["images"]
        todo = []
        for f in files:
            st = f.stat()
            entry = images.get(str(f.relative_to(root)))
            if entry is None or entry.get("bytes") != st.st_size or entry.get("mtime") != st.st_mtime:
                todo.append(f)
        if todo:
            iterator: Any = todo
            if progress:
                from tqdm.auto import tqdm

                iterator = tqdm(todo, desc=self.index_name.strip("."), unit="img", dynamic_ncols=True)
            for n, f in enumerate(iterator, 1):
                st = f.stat()
                entry = {"bytes": st.st_size, "mtime": st.st_mtime}
                try:
                    entry["faces"] = self.detect_file(f).to_json()
                except ImageReadError as exc:
                    entry["error"] = str(exc)
                images[str(f.relative_to(root))] = entry
                if n % 200 == 0:
                    _write(path, data)  # an interrupted indexing run keeps what it did
            _write(path, data)
        return {f: Detections.from_json(images.get(str(f.relative_to(root)), {}).get("faces", [])) for f in files}

    def detect_file(self, path: str | os.PathLike[str]) -> Detections:
        """Detect in one file; coordinates in the file's own pixels (after EXIF orientation)."""
        img = load_image(path, max_side=self.max_side)  # decoded reduced where the file is much larger
        rgb = img.rgb
        scale = img.original_hw[1] / rgb.shape[-1]
        det = self.detector()(rgb)
        return Detections(det.boxes * scale, det.scores, det.landmarks * scale)


def mtcnn_detector(min_face_size: int = 20, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                   factor: float = 0.709) -> Detector:
    """MTCNN as a :data:`Detector` (boxes, scores and five landmarks per face)."""
    from .mtcnn import MTCNN

    net = MTCNN(min_face_size=min_face_size, thresholds=thresholds, factor=factor)

    def detect(rgb: torch.Tensor) -> Detections:
        return net.detect(rgb[None])[0]

    return detect




def face_index(detector_options: dict[str, Any] | None = None, max_side: int = 1024) -> DetectionIndex:
    """Cached MTCNN detections (``.preserve-faces.json`` beside the photos), as the face plugin keeps them."""
    return DetectionIndex.registered("mtcnn", dict(detector_options or {}), INDEX_NAME, max_side)


def _effective_options(factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the factory's defaults for every keyword it leaves out (unknown names are an error)."""
    try:
        bound = inspect.signature(factory).bind_partial(**options)
    except TypeError as exc:
        raise TypeError(f"detector options {sorted(options)}: {exc}") from None
    except ValueError:  # no signature to read (a builtin): the options as given are the key
        return dict(options)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k not in ("args", "kwargs")}


def _common_roots(dirs: Iterable[Path]) -> list[Path]:
    """The top-most folders among ``dirs``."""
    roots: list[Path] = []
    for d in sorted(dirs, key=lambda p: len(p.parts)):
        if not any(r == d or r in d.parents for r in roots):
            roots.append(d)
    return roots


def _read(path: Path) -> dict[str, Any]:
    """The index in ``path``; {} when there is none. An unreadable one is reported before it is rebuilt."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("images"), dict):
            return data
        problem = "not an index"
    except (OSError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    print(f"preserve: the face index {path} is unreadable ({problem}); detecting again", file=sys.stderr)
    return {}


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        atomic_write_text(path, json.dumps(data))
    except OSError as exc:
        print(f"preserve: could not write the face index {path}: {exc}", file=sys.stderr)
