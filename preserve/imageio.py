"""Reading and writing images the way users hand them to us.

:func:`load_image` accepts whatever Pillow opens: it honours EXIF
orientation, turns grayscale, palette, CMYK and 16-bit images into RGB, and
returns the alpha channel separately so it can be put back after stylizing.
A file that cannot be decoded raises :class:`ImageReadError` naming the file;
so does a decompression bomb (a header claiming more than
``Image.MAX_IMAGE_PIXELS`` pixels).

Memory is bounded: an image is decoded at full size only up to
:data:`MAX_FULL_PIXELS` (100 megapixels, about 1.2 GB as float32 RGB). A
larger one is refused unless the caller asks for a smaller size
(``max_side``, ``--size``), in which case JPEGs are decoded at a reduced
scale and other formats are shrunk as 8-bit pixels before any float array
exists. Training crops (:mod:`preserve.data`) use the same decoder, so
16-bit, palette and CMYK files look the same in training as in stylizing.
Animated GIFs and multi-page TIFFs give their first frame, with a note.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_write

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".pbm"})

# Refuse decompression bombs loudly, but allow photos far beyond Pillow's default warning size.
Image.MAX_IMAGE_PIXELS = 40_000 * 40_000
#: The most pixels decoded at full size; larger images need a smaller target size (``max_side``).
MAX_FULL_PIXELS = 100_000_000
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


class ImageReadError(OSError):
    """An image file that could not be read; ``str()`` is ``"PATH: reason"``, ``reason`` alone names the problem."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):  # picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


@dataclass
class LoadedImage:
    rgb: torch.Tensor  # (3, H, W) float32 in [0, 1]
    alpha: torch.Tensor | None  # (1, H, W) float32 in [0, 1], or None
    path: Path | None = None
    original_hw: tuple[int, int] | None = None  # the file's size (after EXIF orientation), before any reduction


#: Files named like ``photo.mask.png`` are region masks for the ``mask`` plugin, never content or inputs.
MASK_MARK = ".mask."


def is_image_path(path: str | os.PathLike[str]) -> bool:
    name = Path(path).name
    return Path(name).suffix.lower() in IMAGE_SUFFIXES and MASK_MARK not in name.lower()


def _to_float_array(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB (H, W, 3) and optional alpha (H, W) float32 arrays in [0, 1]."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img, dtype=np.float32)
        peak = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        gray = np.clip(a / peak, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2), None
    if mode == "F":
        a = np.asarray(img, dtype=np.float32)
        gray = np.clip(a / 255.0 if a.max() > 1.0 else a, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2), None
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[..., :3], rgba[..., 3]
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, None


_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # kept wide: Image.reduce would not keep their range


def open_image(path: str | os.PathLike[str], min_side: int | None = None,
               max_side: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """Decode ``path`` as a PIL image in display orientation; also the file's (H, W) in that orientation.

    With ``min_side`` (the shorter side the caller scales to) or ``max_side`` (the longer side), the
    decode may be reduced (JPEG draft mode, an integer 8-bit reduction) while staying at least that
    large; the caller then scales exactly. Raises :class:`ImageReadError` for anything that goes wrong.
    """
    p = Path(path)
    try:
        with Image.open(p) as img:
            w, h = img.size
            if img.getexif().get(0x0112, 1) in _SWAPS_AXES:
                w, h = h, w
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                print(f"preserve: note: {p} has {frames} frames; only the first is used", file=sys.stderr)
            target = _reduced_target((h, w), min_side, max_side)
            if target is None and h * w > MAX_FULL_PIXELS:
                raise ImageReadError(p, f"{w}x{h} is {h * w / 1e6:.0f} megapixels; preserve decodes at most "
                                        f"{MAX_FULL_PIXELS / 1e6:.0f} at full size: ask for a smaller size "
                                        "(--size N) to decode it scaled down")
            if target is not None and img.format == "JPEG":
                th, tw = target if (w, h) == img.size else (target[1], target[0])  # draft works before rotation
                img.draft(img.mode, (tw, th))
            img.load()
            img = ImageOps.exif_transpose(img)
            if target is not None and img.mode not in _WIDE_MODES:
                factor = min(img.size[1] // target[0], img.size[0] // target[1])
                if factor >= 2:
                    img = img.reduce(factor)
            return img, (h, w)
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(p, "no such file") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(p, f"refused as a decompression bomb ({exc})") from None
    except _DECODE_ERRORS as exc:
        raise ImageReadError(p, f"cannot read image ({type(exc).__name__}: {exc})") from None


def _reduced_target(hw: tuple[int, int], min_side: int | None, max_side: int | None) -> tuple[int, int] | None:
    """The smallest (H, W) a reduced decode may give for the caller's scaling, or None for full size."""
    h, w = hw
    if min_side is not None and min(h, w) > min_side:
        scale = min_side / min(h, w)
    elif max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
    else:
        return None
    return max(1, int(h * scale)), max(1, int(w * scale))


def decode_float(img: Image.Image, path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB (H, W, 3) and optional alpha (H, W) float32 arrays in [0, 1] of an opened image."""
    try:
        return _to_float_array(img)
    except _DECODE_ERRORS as exc:
        raise ImageReadError(path, f"cannot read image ({type(exc).__name__}: {exc})") from None


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> LoadedImage:
    """Decode ``path`` into an RGB tensor (+ alpha), optionally capping the longer side at ``max_side``."""
    img, original_hw = open_image(path, max_side=max_side)
    rgb, alpha = decode_float(img, path)
    rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    alpha_t = torch.from_numpy(np.ascontiguousarray(alpha))[None] if alpha is not None else None
    if max_side is not None and max(original_hw) > max_side:
        size = fit_size(original_hw, max_side)
        rgb_t = resize(rgb_t, size)
        alpha_t = resize(alpha_t, size) if alpha_t is not None else None
    return LoadedImage(rgb_t, alpha_t, Path(path), original_hw)


def fit_size(hw: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(H, W) scaled so the longer side is ``max_side``, aspect ratio kept."""
    h, w = hw
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of a ``(C, H, W)`` or ``(B, C, H, W)`` tensor."""
    batched = image.dim() == 4
    x = image if batched else image[None]
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    x = x.clamp(0, 1)
    return x if batched else x[0]


def to_pil(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """A ``(3, H, W)`` tensor in [0, 1] (values outside are clipped) as an 8-bit PIL image."""
    arr = rgb.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    if alpha is not None:
        a = alpha.detach().float().clamp(0, 1).mul(255).round().byte()[0].cpu().numpy()
        return Image.fromarray(np.dstack([arr, a]), "RGBA")
    return Image.fromarray(arr, "RGB")


def save_image(rgb: torch.Tensor, path: str | os.PathLike[str], alpha: torch.Tensor | None = None) -> Path:
    """Write atomically (temp file + rename), so an interrupted run never leaves half a PNG."""
    p = Path(path)
    img = to_pil(rgb, alpha)
    fmt = Image.registered_extensions().get(p.suffix.lower(), "PNG")
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    return atomic_write(p, lambda tmp: img.save(tmp, format=fmt))


def find_images(paths: list[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    """Image files among ``paths``; folders are searched recursively, in sorted order."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    found: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_image_path(f) and not f.name.startswith(".")))
        elif p.exists() or is_image_path(p):
            found.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return found
