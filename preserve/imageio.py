"""Reading and writing images the way users hand them to us.

:func:`load_image` accepts whatever Pillow opens: it honours EXIF
orientation, turns grayscale, palette, CMYK and 16-bit images into RGB, and
returns the alpha channel separately so it can be put back after stylizing.
A file that cannot be decoded raises :class:`ImageReadError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .atomic import atomic_write

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".pbm"})

# Refuse decompression bombs loudly, but allow photos far beyond Pillow's default warning size.
Image.MAX_IMAGE_PIXELS = 40_000 * 40_000


class ImageReadError(OSError):
    """An image file that could not be read; the message names the file."""


@dataclass
class LoadedImage:
    rgb: torch.Tensor  # (3, H, W) float32 in [0, 1]
    alpha: torch.Tensor | None  # (1, H, W) float32 in [0, 1], or None
    path: Path | None = None


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


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> LoadedImage:
    """Decode ``path`` fully into an RGB tensor (+ alpha), optionally capping the longer side."""
    p = Path(path)
    try:
        with Image.open(p) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb, alpha = _to_float_array(img)
    except FileNotFoundError:
        raise ImageReadError(f"{p}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{p}: cannot read image ({type(exc).__name__}: {exc})") from None
    rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    alpha_t = torch.from_numpy(np.ascontiguousarray(alpha))[None] if alpha is not None else None
    if max_side is not None and max(rgb_t.shape[-2:]) > max_side:
        size = fit_size(tuple(rgb_t.shape[-2:]), max_side)
        rgb_t = resize(rgb_t, size)
        alpha_t = resize(alpha_t, size) if alpha_t is not None else None
    return LoadedImage(rgb_t, alpha_t, p)


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
