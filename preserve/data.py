"""Training data: a recursive image folder with deterministic, resumable order.

The sampler yields ``(index, epoch)`` pairs from a permutation seeded by
``(seed, epoch)``, and each crop is drawn from a generator seeded by
``(seed, epoch, index)``. The order and the crops therefore depend only on
the seed and the position in the run, which is what lets ``--resume``
continue exactly where a run stopped, with or without worker processes.

Files that fail to decode are skipped and counted, never fatal: the dataset
returns ``None`` for them and :func:`collate` drops them from the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .annotations import Annotation, CropTransform
from .imageio import decode_float, find_images, open_image, resize


def _generator(*keys: int) -> torch.Generator:
    g = torch.Generator()
    seed = 0
    for k in keys:  # a small, stable mix of the keys (Python's hash() is salted per process)
        seed = (seed * 1_000_003 + int(k) + 0x9E3779B9) % (2**63 - 1)
    g.manual_seed(seed)
    return g


@dataclass
class Sample:
    image: torch.Tensor  # (3, S, S) float32 in [0, 1]
    path: str
    annotations: dict[str, Annotation] = field(default_factory=dict)


@dataclass
class Broken:
    path: str
    error: str


@dataclass
class Batch:
    images: torch.Tensor | None
    paths: list[str]
    broken: list[Broken] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)


def load_rgb_square(path: str | os.PathLike[str], size: int, generator: torch.Generator | None,
                    flip: bool) -> tuple[torch.Tensor, CropTransform]:
    """Decode, scale the shorter side to ``size`` and crop a ``size`` square (random if a generator is given).

    Decoding is :func:`preserve.imageio.open_image`'s, as for stylizing (16-bit, palette, CMYK alike;
    a JPEG much larger than the crop is decoded at a reduced scale). Returns the crop and the
    :class:`CropTransform` that maps file coordinates into it.
    """
    img, (full_h, full_w) = open_image(path, min_side=size)
    rgb, _ = decode_float(img, path)
    h, w = rgb.shape[:2]
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    x = resize(x, (nh, nw))
    if generator is None:
        left, top = (nw - size) // 2, (nh - size) // 2
    else:
        left = int(torch.randint(0, nw - size + 1, (1,), generator=generator))
        top = int(torch.randint(0, nh - size + 1, (1,), generator=generator))
    x = x[:, top:top + size, left:left + size]
    mirrored = bool(flip and generator is not None and bool(torch.rand((), generator=generator) < 0.5))
    if mirrored:
        x = x.flip(-1)
    transform = CropTransform(nw / full_w, nh / full_h, left, top, size, mirrored)
    return x.contiguous(), transform


class ImageFolder(Dataset):
    """Every image under ``root`` (recursively), as random ``image_size`` square crops."""

    def __init__(self, root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], image_size: int = 256,
                 seed: int = 0, flip: bool = True, random_crop: bool = True,
                 annotations: Mapping[str, Mapping[str, Annotation]] | None = None) -> None:
        roots = [root] if isinstance(root, (str, os.PathLike)) else list(root)
        self.files: list[Path] = find_images(roots)
        if not self.files:
            raise FileNotFoundError(f"no images found under {', '.join(map(str, roots))}")
        self.image_size = image_size
        self.seed = seed
        self.flip = flip
        self.random_crop = random_crop
        self.annotations: dict[str, Mapping[str, Annotation]] = dict(annotations or {})

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: int | tuple[int, ...]) -> Sample | Broken:
        """``index``, ``(index, epoch)`` or ``(index, epoch, size)``: a crop of ``size`` (default image_size)."""
        index, epoch, size = key, 0, self.image_size
        if isinstance(key, tuple):
            index, epoch, *rest = key
            size = rest[0] if rest else self.image_size
        path = self.files[index]
        gen = _generator(self.seed, epoch, index) if self.random_crop else None
        try:
            image, transform = load_rgb_square(path, size, gen, self.flip)
        except Exception as exc:  # noqa: BLE001 - a bad file is counted and skipped, whatever broke
            return Broken(str(path), f"{type(exc).__name__}: {exc}")
        notes = {name: table[str(path)].transformed(transform) for name, table in self.annotations.items()}
        return Sample(image, str(path), notes)


class EpochSampler(Sampler):
    """Yields ``(index, epoch)`` in a permutation seeded by ``(seed, epoch)``, from batch ``start_batch`` on;
    with ``sizes=(lo, hi)`` (multi-scale training) ``(index, epoch, size)``, one crop size per batch.

    With ``num_replicas > 1`` each rank takes an interleaved share of every
    global batch, as torch's DistributedSampler does.
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, start_batch: int = 0,
                 drop_last: bool = True, rank: int = 0, num_replicas: int = 1,
                 sizes: tuple[int, int] | None = None) -> None:
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = epoch
        self.start_batch = start_batch
        self.drop_last = drop_last and n >= batch_size * num_replicas
        self.rank = rank
        self.num_replicas = num_replicas
        self.sizes = sizes

    def batch_size_px(self, batch: int) -> int | None:
        """The crop size of batch ``batch`` of this epoch with ``sizes=(lo, hi)``: drawn from (seed, epoch,
        batch), a multiple of 32 in [lo, hi]; None without ``sizes`` (the dataset's own size)."""
        if self.sizes is None:
            return None
        lo, hi = (-(-self.sizes[0] // 32)), self.sizes[1] // 32
        step = int(torch.randint(lo, max(lo, hi) + 1, (1,), generator=_generator(self.seed, self.epoch, -2, batch)))
        return 32 * step

    def batches_per_epoch(self) -> int:
        global_batch = self.batch_size * self.num_replicas
        return self.n // global_batch if self.drop_last else -(-self.n // global_batch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = torch.randperm(self.n, generator=_generator(self.seed, self.epoch, -1)).tolist()
        global_batch = self.batch_size * self.num_replicas
        for b in range(self.start_batch, self.batches_per_epoch()):
            chunk = order[b * global_batch:(b + 1) * global_batch]
            size = self.batch_size_px(b)
            for i in chunk[self.rank::self.num_replicas]:
                yield (i, self.epoch) if size is None else (i, self.epoch, size)

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start_batch) * self.batch_size


def collate(items: list[Sample | Broken]) -> Batch:
    good = [s for s in items if isinstance(s, Sample)]
    broken = [s for s in items if isinstance(s, Broken)]
    images = torch.stack([s.image for s in good]) if good else None
    inputs: dict[str, Any] = {}
    for name in good[0].annotations if good else ():
        items = [s.annotations[name] for s in good]
        inputs[name] = type(items[0]).collate(items)
    return Batch(images, [s.path for s in good], broken, inputs)
