"""Region preservation: the content term, weighted per pixel by a mask of the user's choosing.

Where the mask is 1 the stylized image keeps the content's encoder features
(at ``layers``); where it is 0 the style is free. A mask comes from a file
beside each content photo (``photo.jpg`` -> ``photo.mask.png``, white =
protect), read once and carried through every crop and flip like the face
plugin's detections, from a registered segmenter (``mask_fn: faces`` protects
every face MTCNN finds), or from a Python callable that maps a content batch
to ``(B, 1, H, W)`` weights in [0, 1]. Photos without a mask file get
``default`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from preserve.annotations import CropTransform
from preserve.plugin import LossContext, Needs, Plugin, PluginCard, layer_spec
from preserve.registry import SEGMENTERS

MaskFn = Callable[[torch.Tensor], torch.Tensor]



def face_regions(grow: float = 0.3, min_face_size: int = 12) -> MaskFn:
    """Soft elliptical masks over the faces MTCNN finds in each content image (1 on faces, 0 elsewhere)."""
    from preserve.faces.mtcnn import MTCNN

    detector = MTCNN(min_face_size=min_face_size)

    def make(images: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        ys = torch.arange(h, dtype=torch.float32)[:, None]
        xs = torch.arange(w, dtype=torch.float32)[None, :]
        masks = torch.zeros(b, 1, h, w)
        for i, det in enumerate(detector.detect(images.detach().float().cpu())):
            for x1, y1, x2, y2 in det.boxes.tolist():
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                rx, ry = (x2 - x1) * (0.5 + grow / 2), (y2 - y1) * (0.5 + grow / 2)
                inside = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2
                masks[i, 0] = torch.maximum(masks[i, 0], (1.5 - inside).clamp(0, 1))
        return masks

    return make


@dataclass
class Mask:
    """A per-pixel weight map of one content file (``None``: no file, use the default weight)."""

    weights: np.ndarray | None  # (H, W) float32 in [0, 1], in the file's own pixels

    def transformed(self, t: CropTransform) -> "Mask":
        if self.weights is None:
            return self
        h, w = self.weights.shape
        size = (max(1, round(w * t.scale_x)), max(1, round(h * t.scale_y)))
        img = Image.fromarray(self.weights).resize(size, Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32)
        left, top = int(round(t.left)), int(round(t.top))
        out_h, out_w = t.out_hw
        crop = np.zeros((out_h, out_w), np.float32)
        part = arr[top:top + out_h, left:left + out_w]
        crop[:part.shape[0], :part.shape[1]] = part
        return Mask(crop[:, ::-1].copy() if t.flip else crop)

    @classmethod
    def collate(cls, items: Sequence["Mask"]) -> list[np.ndarray | None]:
        return [m.weights for m in items]


def mask_path(image: str | Path, suffix: str) -> Path:
    p = Path(image)
    return p.with_name(p.stem + suffix)


class MaskPlugin(Plugin):
    """Content loss weighted per pixel by a mask (per image file, or computed by a callable).

    Args:
        layers: encoder layer(s) compared under the mask (default ``relu2_2``).
        suffix: the mask file beside each photo, ``photo.jpg`` -> ``photo`` + suffix; must start with
            ``.mask.`` (such files are never used as photos). White protects.
        default: the mask value for photos without a mask file (default 0: nothing protected).
        mask_fn: instead of files, a registered segmenter (``"faces"``, or ``{name: faces, grow: 0.5}``)
            or a callable from a content batch to ``(B, 1, H, W)`` weights in [0, 1].
        invert: protect where the mask is black instead.

    Examples:
        >>> import torch, preserve
        >>> left_half = lambda x: (torch.arange(x.shape[-1]) < x.shape[-1] // 2).float().expand(len(x), 1, *x.shape[-2:])
        >>> mask = preserve.create("mask", mask_fn=left_half)
        >>> sorted(mask.needs().inputs)  # masks from a callable need no per-file input
        []
        >>> x = torch.rand(1, 3, 8, 8)
        >>> feats = {"relu2_2": torch.rand(1, 4, 8, 8)}
        >>> float(mask(preserve.LossContext(x, x, feats, feats)))
        0.0
    """

    card = PluginCard(
        name="mask",
        summary="protect regions: content loss weighted by a per-pixel mask (photo.mask.png or a callable)",
        default_weight=5.0,
        inputs=("masks",),
    )

    def __init__(self, layers: Sequence[str] = ("relu2_2",), suffix: str = ".mask.png", default: float = 0.0,
                 mask_fn: MaskFn | str | Mapping[str, Any] | None = None, invert: bool = False) -> None:
        super().__init__()
        if isinstance(mask_fn, (str, Mapping)):  # a registered segmenter, by name or {name: ..., options}
            options = dict(mask_fn) if isinstance(mask_fn, Mapping) else {"name": mask_fn}
            mask_fn = SEGMENTERS.create(str(options.pop("name")), **options)
        if not suffix.startswith(".mask."):
            raise ValueError("mask: 'suffix' must start with '.mask.' (such files are never used as photos)")
        self.layers, _ = layer_spec("mask", layers)
        self.suffix = suffix
        self.default = float(default)
        self.mask_fn = mask_fn
        self.invert = invert
        self._stats: dict[str, float] = {}

    def needs(self) -> Needs:
        layers = frozenset(self.layers)
        return Needs(stylized_layers=layers, content_layers=layers,
                     inputs=frozenset() if self.mask_fn else frozenset({"masks"}))

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> Mapping[str, Mask]:
        out = {}
        for f in files:
            p = mask_path(f, self.suffix)
            if p.is_file():
                with Image.open(p) as img:
                    out[f] = Mask(np.asarray(img.convert("L"), dtype=np.float32) / 255.0)
            else:
                out[f] = Mask(None)
        return out

    def weights_for(self, ctx: LossContext) -> torch.Tensor:
        """``(B, 1, H, W)`` weights in [0, 1] for the batch."""
        b, _, h, w = ctx.content.shape
        if self.mask_fn is not None:
            m = self.mask_fn(ctx.content).float()
            self._stats = {"masked_images": float((m.flatten(1) > 0).any(dim=1).sum())}
        else:
            maps = ctx.inputs["masks"]
            m = torch.stack([torch.from_numpy(x) if x is not None else torch.full((h, w), self.default)
                             for x in maps])[:, None]
            self._stats = {"masked_images": float(sum(x is not None for x in maps))}
        m = m.to(ctx.content.device).clamp(0, 1)
        return 1.0 - m if self.invert else m

    def forward(self, ctx: LossContext) -> torch.Tensor:
        mask = self.weights_for(ctx)
        total = torch.zeros(ctx.batch_size, device=ctx.stylized.device)
        for layer in self.layers:
            a, c = ctx.stylized_features[layer].float(), ctx.content_features[layer].float()
            m = F.interpolate(mask, size=a.shape[-2:], mode="area")
            total = total + (m * (a - c).pow(2)).flatten(1).mean(dim=1)
        return total

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def describe(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "suffix": self.suffix, "default": self.default,
                "mask_fn": getattr(self.mask_fn, "__name__", None), "invert": self.invert}
