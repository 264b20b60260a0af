"""Applying a trained style network to photos.

:func:`stylize` takes files and folders, keeps each image's size and aspect
ratio (or scales the longer side to ``size``), honours EXIF orientation,
accepts grayscale, palette, RGBA (alpha is put back), CMYK and 16-bit input,
can keep the photo's own colours (``preserve_color``: stylized luminance, original chroma),
chooses or blends a multi-style model's styles (``style``), fades towards the photo
(``strength``), stylizes small faces at a zoom the network keeps them at (``face_zoom``,
:mod:`preserve.facezoom`), runs in bf16 where the CPU has it natively (the fastest path; ``bf16=False``
forces fp32),
stylizes video files frame by frame (:mod:`preserve.video`), and never lets one bad
file stop the others: failures are collected in the returned report with the file named.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .color import luminance_only
from .distributed import bf16_supported
from .export import OnnxStylizer, export_onnx
from .facezoom import FaceZoom
from .imageio import MASK_MARK, ImageReadError, fit_size, is_image_path, load_image, resize, save_image
from .models.io import MODEL_FORMAT, ModelFileError, load_model, save_model  # noqa: F401 - re-exported
from .video import VideoReadError, is_video_path, stylize_video
from .visual import save_grid

MIN_SIDE = 16  # reflection padding and two stride-2 convolutions need a few pixels
#: Above this many pixels a torch network runs in overlapping tiles (see preserve.tiling), so memory stays bounded.
TILE_ABOVE_PIXELS = 2048 * 2048
TILE_SIZE = 1024


Network = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def stylize_tensor(model: nn.Module | Network, image: torch.Tensor, *, bf16: bool = False) -> torch.Tensor:
    """Stylize a ``(3, H, W)`` or ``(B, 3, H, W)`` tensor in [0, 1]; returns the same shape, clamped.

    ``model`` is a style network (nn.Module) or any callable on batches (an :class:`~preserve.export.OnnxStylizer`).
    """
    batched = image.dim() == 4
    x = image if batched else image[None]
    h, w = x.shape[-2:]
    pad_h, pad_w = max(0, MIN_SIDE - h), max(0, MIN_SIDE - w)
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    if isinstance(model, torch.nn.Module) and h * w > TILE_ABOVE_PIXELS:
        from .tiling import stylize_tiled

        y = torch.stack([stylize_tiled(model, img, tile=TILE_SIZE) for img in x])
    elif isinstance(model, torch.nn.Module):
        param = next(model.parameters())
        if param.dtype == torch.bfloat16:  # a network prepared by for_inference(bf16=True)
            y = model(x.to(param.device, torch.bfloat16).contiguous(memory_format=torch.channels_last))
        else:
            with torch.autocast(param.device.type, dtype=torch.bfloat16, enabled=bf16):
                y = model(x.to(param.device))
    else:
        y = model(x)
    y = y.float().clamp(0, 1)[..., :h, :w].cpu()
    return y if batched else y[0]


BACKENDS = ("torch", "onnxruntime")


def parse_style(text: str) -> str | dict[str, float]:
    """``NAME`` or a blend ``a:0.7,b:0.3`` (weights non-negative, summing to more than 0) from the command line."""
    if ":" not in text and "," not in text:
        return text
    blend: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition(":")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not name or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"--style {text!r}: a blend is NAME:WEIGHT,NAME:WEIGHT with weights >= 0")
        blend[name.strip()] = blend.get(name.strip(), 0.0) + weight
    if sum(blend.values()) <= 0:
        raise ValueError(f"--style {text!r}: the blend weights sum to 0")
    return blend


def choose_style(net: nn.Module | Network, style: str | Mapping[str, float] | None) -> nn.Module | Network:
    """``net`` painting ``style`` (a name in the model file, or a blend of its styles); a copy, so the caller's
    network keeps its own choice. A one-style network takes no style."""
    if style is None:
        return net
    if not hasattr(net, "set_style"):
        raise ValueError(f"--style {style!r}: this model holds one style; --style with --model chooses among a "
                         "multi-style model's styles (for ONNX: 'preserve export --style')")
    return copy.deepcopy(net).set_style(style)


def for_inference(net: nn.Module, bf16: bool | None = None) -> nn.Module:
    """The network as stylizing runs it fastest here: bf16 weights in channels_last where asked
    (``bf16=None``: where the CPU has native bf16, the default path).

    On the 2-core reference machine this beats bf16 autocast by about 15 % and fp32 by 2x
    (docs/benchmarks.md, benchmarks/stylize_latency.py).
    """
    if not (bf16_supported() if bf16 is None else bf16):
        return net
    return copy.deepcopy(net).to(torch.bfloat16).to(memory_format=torch.channels_last)


def load_network(path: str | os.PathLike[str], backend: str = "torch",
                 style: str | Mapping[str, float] | None = None) -> nn.Module | Network:
    """A model file ready to stylize with, painting ``style`` (see :func:`choose_style`): ``model.pt`` for
    torch; ``.onnx`` (or a ``model.pt`` exported on the fly into the cache, style included) for onnxruntime."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    p = Path(path)
    if backend == "torch":
        if p.suffix == ".onnx":
            raise ModelFileError(f"{p}: an ONNX file runs with --backend onnxruntime")
        return choose_style(load_model(p), style)
    if p.suffix != ".onnx":
        if not p.is_file():
            raise FileNotFoundError(f"model file not found: {p}")
        from .weights import home, sha256sum

        tag = "" if style is None else "-" + hashlib.sha1(json.dumps(style, sort_keys=True).encode()).hexdigest()[:8]
        cached = home() / "onnx" / f"{p.stem}-{sha256sum(p)[:12]}{tag}.onnx"
        p = cached if cached.is_file() else export_onnx(choose_style(load_model(p), style), cached)
    elif not p.is_file():
        raise FileNotFoundError(f"model file not found: {p}")
    elif style is not None:
        raise ValueError(f"{p}: an ONNX file paints the style it was exported with ('preserve export --style')")
    return OnnxStylizer(p)


def blend_with_photo(stylized: torch.Tensor, photo: torch.Tensor, strength: float = 1.0,
                     preserve_color: bool = False) -> torch.Tensor:
    """What ``--strength`` and ``--preserve-color`` do to a stylized image: cross-fade it with the photo
    (1: the style as trained, 0: the photo), then keep the photo's chroma if asked."""
    if strength < 1.0:
        stylized = photo + strength * (stylized - photo)
    return luminance_only(stylized, photo) if preserve_color else stylized


@dataclass
class StylizeReport:
    """What a :func:`stylize` call did: files written, inputs that failed (path -> reason), and files inside
    the given folders that were left out because their suffix is not an image's."""

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_images: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _plan_outputs(inputs: Sequence[str | os.PathLike[str]], out_dir: Path, suffix: str,
                  not_images: list[str]) -> list[tuple[Path, Path]]:
    """(input, output) pairs; files under a folder keep their relative path, so names never collide.

    Files inside folders that are not images by their suffix are appended to ``not_images``.
    """
    pairs: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")):
                if is_image_path(f) or is_video_path(f):
                    out_suffix = f.suffix if is_video_path(f) else suffix  # a video stays a video of its kind
                    pairs.append((f, (out_dir / f.relative_to(p)).with_suffix(out_suffix)))
                elif MASK_MARK not in f.name.lower():
                    not_images.append(str(f))
        else:
            pairs.append((p, (out_dir / p.name).with_suffix(p.suffix if is_video_path(p) else suffix)))
    seen: dict[Path, int] = {}
    unique = []
    for src, dst in pairs:
        n = seen.get(dst, 0)
        seen[dst] = n + 1
        unique.append((src, dst if n == 0 else dst.with_name(f"{dst.stem}_{n}{dst.suffix}")))
    return unique


def stylize(
    model: nn.Module | Network | str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    size: int | None = None,
    bf16: bool | None = None,
    suffix: str = ".png",
    grid: str | os.PathLike[str] | None = None,
    progress: bool = True,
    backend: str = "torch",
    preserve_color: bool = False,
    style: str | Mapping[str, float] | None = None,
    strength: float = 1.0,
    temporal_smoothing: float = 0.0,
    face_zoom: FaceZoom | float | None = None,
) -> StylizeReport:
    """Stylize image files and folders into ``out_dir``; see the module docstring.

    ``bf16``: None (default) runs a torch network in bf16 where the CPU supports it natively (the fastest
    path), False forces fp32. ``style`` chooses a multi-style model's style, by name, or blends its styles
    (``{"a": 0.7, "b": 0.3}``: their normalisation parameters mixed). ``strength`` in [0, 1] cross-fades
    the stylized pixels with the photo's (1: the style as trained, 0: the photo). Video files (see
    :mod:`preserve.video`, ``pip install 'preserve[video]'``) are stylized frame by frame into a video of
    the same kind, audio kept; ``temporal_smoothing`` in [0, 1) blends each frame with the previous output.
    ``face_zoom`` (a :class:`~preserve.facezoom.FaceZoom`, or its ``target`` in pixels) stylizes faces
    narrower than that at a zoom that makes them that wide, and blends them back in (torch backend, still
    images only: a video file given with it is reported as failed).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"--strength must be in [0, 1], got {strength}")
    zoom = FaceZoom.of(face_zoom)
    if zoom is not None and (backend != "torch" or not isinstance(model, (str, os.PathLike, nn.Module))):
        raise ValueError("--face-zoom needs the torch backend: onnxruntime cannot fix the network's "
                         "instance-norm statistics for the zoomed faces")
    net = load_network(model, backend) if isinstance(model, (str, os.PathLike)) else model
    net = choose_style(net, style)
    if isinstance(net, nn.Module):
        net = for_inference(net, bf16)
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    out_path = Path(out_dir)
    if out_path.exists() and not out_path.is_dir():
        raise FileExistsError(f"--out {out_path} is a file; --out must be a folder for the stylized images")
    report = StylizeReport()
    pairs = _plan_outputs(items, out_path, suffix if suffix.startswith(".") else f".{suffix}", report.not_images)
    if not pairs:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, items))}"
                                + (f" ({len(report.not_images)} file(s) with other suffixes)" if report.not_images
                                   else ""))
    before: list[torch.Tensor] = []
    after: list[torch.Tensor] = []
    iterator: Any = pairs
    if progress and len(pairs) > 1:
        from tqdm.auto import tqdm

        iterator = tqdm(pairs, desc="stylize", unit="img", dynamic_ncols=True)
    def paint(rgb: torch.Tensor) -> torch.Tensor:
        out = stylize_tensor(net, rgb)
        if zoom is not None:
            out = zoom(net, rgb, out)
        return blend_with_photo(out, rgb, strength, preserve_color)

    for src, dst in iterator:
        if is_video_path(src):
            if zoom is not None:  # frame by frame, a face the detector finds in one frame and not the next
                # would switch between two renderings; not measured on video, so not offered there
                report.failed[str(src)] = "--face-zoom is for still images; stylize videos without it"
                continue
            try:
                video = stylize_video(paint, src, dst, size=size,
                                      temporal_smoothing=temporal_smoothing, progress=progress)
            except (VideoReadError, FileNotFoundError) as exc:
                report.failed[str(src)] = str(exc)
                continue
            report.written.append(video.path)
            continue
        try:
            img = load_image(src, max_side=size)
        except ImageReadError as exc:
            report.failed[str(src)] = exc.reason
            continue
        rgb, alpha = img.rgb, img.alpha
        if size is not None:
            target = fit_size(tuple(rgb.shape[-2:]), size)
            rgb = resize(rgb, target)
            alpha = resize(alpha, target) if alpha is not None else None
        out = paint(rgb)
        report.written.append(save_image(out, dst, alpha))
        if grid is not None and len(before) < 8:
            before.append(rgb)
            after.append(out)
    if grid is not None and before:
        save_grid([before, after], grid, row_labels=["original", "stylized"])
    return report
