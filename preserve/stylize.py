"""Applying a trained style network to photos.

:func:`stylize` takes files and folders, keeps each image's size and aspect
ratio (or scales the longer side to ``size``), honours EXIF orientation,
accepts grayscale, palette, RGBA (alpha is put back), CMYK and 16-bit input,
can keep the photo's own colours (``preserve_color``: stylized luminance, original chroma),
and never lets one bad file stop the others: failures are collected in the
returned report with the file named.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from .color import luminance_only
from .export import OnnxStylizer, export_onnx
from .imageio import MASK_MARK, ImageReadError, fit_size, is_image_path, load_image, resize, save_image
from .models.io import MODEL_FORMAT, ModelFileError, load_model, save_model  # noqa: F401 - re-exported
from .models.transformer_net import TransformerNet
from .visual import save_grid

MIN_SIDE = 16  # reflection padding and two stride-2 convolutions need a few pixels
#: Above this many pixels a torch network runs in overlapping tiles (see preserve.tiling), so memory stays bounded.
TILE_ABOVE_PIXELS = 2048 * 2048
TILE_SIZE = 1024


Network = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def stylize_tensor(model: TransformerNet | Network, image: torch.Tensor, *, bf16: bool = False) -> torch.Tensor:
    """Stylize a ``(3, H, W)`` or ``(B, 3, H, W)`` tensor in [0, 1]; returns the same shape, clamped.

    ``model`` is a TransformerNet or any callable on batches (an :class:`~preserve.export.OnnxStylizer`).
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


def for_inference(net: TransformerNet, bf16: bool) -> TransformerNet:
    """The network as stylizing runs it fastest here: bf16 weights in channels_last where asked.

    On the 2-core reference machine this beats bf16 autocast by about 15 % and fp32 by 2x
    (docs/benchmarks.md, benchmarks/stylize_latency.py).
    """
    if not bf16:
        return net
    return copy.deepcopy(net).to(torch.bfloat16).to(memory_format=torch.channels_last)


def load_network(path: str | os.PathLike[str], backend: str = "torch") -> TransformerNet | Network:
    """A model file ready to stylize with: ``model.pt`` for torch; ``.onnx`` (or a ``model.pt`` exported
    on the fly into the cache) for onnxruntime."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    p = Path(path)
    if backend == "torch":
        if p.suffix == ".onnx":
            raise ModelFileError(f"{p}: an ONNX file runs with --backend onnxruntime")
        return load_model(p)
    if p.suffix != ".onnx":
        if not p.is_file():
            raise FileNotFoundError(f"model file not found: {p}")
        from .weights import home, sha256sum

        cached = home() / "onnx" / f"{p.stem}-{sha256sum(p)[:12]}.onnx"
        p = cached if cached.is_file() else export_onnx(load_model(p), cached)
    elif not p.is_file():
        raise FileNotFoundError(f"model file not found: {p}")
    return OnnxStylizer(p)


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
                if is_image_path(f):
                    pairs.append((f, (out_dir / f.relative_to(p)).with_suffix(suffix)))
                elif MASK_MARK not in f.name.lower():
                    not_images.append(str(f))
        else:
            pairs.append((p, (out_dir / p.name).with_suffix(suffix)))
    seen: dict[Path, int] = {}
    unique = []
    for src, dst in pairs:
        n = seen.get(dst, 0)
        seen[dst] = n + 1
        unique.append((src, dst if n == 0 else dst.with_name(f"{dst.stem}_{n}{dst.suffix}")))
    return unique


def stylize(
    model: TransformerNet | Network | str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    size: int | None = None,
    bf16: bool = False,
    suffix: str = ".png",
    grid: str | os.PathLike[str] | None = None,
    progress: bool = True,
    backend: str = "torch",
    preserve_color: bool = False,
) -> StylizeReport:
    """Stylize image files and folders into ``out_dir``; see the module docstring."""
    net = load_network(model, backend) if isinstance(model, (str, os.PathLike)) else model
    if bf16 and isinstance(net, TransformerNet):
        net = for_inference(net, bf16=True)
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
    for src, dst in iterator:
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
        out = stylize_tensor(net, rgb, bf16=bf16)
        if preserve_color:
            out = luminance_only(out, rgb)
        report.written.append(save_image(out, dst, alpha))
        if grid is not None and len(before) < 8:
            before.append(rgb)
            after.append(out)
    if grid is not None and before:
        save_grid([before, after], grid, row_labels=["original", "stylized"])
    return report
