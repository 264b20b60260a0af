"""Face tone: keep each face's skin tone and lighting while the style repaints the rest.

The face term keeps a face *recognisable* to an embedder, and embedders are trained to ignore colour and
lighting; so a face can stay recognisable and still turn purple, or so dark that a person can no longer
read it (what held-back studio headshots of dark-skinned people showed). This term compares what the
embedder ignores: the colour of each face region in CIELAB, after a blur, so the style may still add
brush texture while each part of the face keeps its lightness and hue. Lightness and chroma have their
own weights: ``lightness`` alone makes a luminance-aware face loss, ``chroma`` alone keeps skin colour
and lets the style set the light.

It reads the same MTCNN detections as the face term (``.preserve-faces.json``, made once per photo and
carried through every crop and flip), so a recipe with both detects once.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from kornia.color import rgb_to_lab
from kornia.filters import gaussian_blur2d

from preserve.faces.detections import Detections, FaceBatch
from preserve.faces.embedders import box_crop
from preserve.faces.index import face_index
from preserve.plugin import LossContext, Needs, Plugin, PluginCard


def face_tone_distance(stylized: torch.Tensor, content: torch.Tensor, image_index: torch.Tensor,
                       boxes: torch.Tensor, size: int = 16, blur_sigma: float = 1.0,
                       lightness: float = 1.0, chroma: float = 1.0) -> torch.Tensor:
    """Per face, the mean weighted squared CIELAB difference of the blurred face regions.

    ``stylized`` and ``content`` are ``(B, 3, H, W)`` RGB in [0, 1]; ``boxes`` ``(N, 4)`` are the regions
    (x1, y1, x2, y2) in pixels and ``image_index`` ``(N,)`` the image each belongs to. Each region is
    resampled onto a ``size`` x ``size`` grid, turned into L*a*b* and blurred by ``blur_sigma`` grid cells.
    Returns ``(N,)``: ``lightness * dL*^2 + chroma * (da*^2 + db*^2)``, averaged over the grid, in squared
    Lab units (a ΔE*ab of 10 everywhere gives 100 at unit weights). Differentiable in ``stylized``.
    """
    crops = box_crop(torch.cat([stylized.float(), content.float()]),
                     torch.cat([image_index, image_index + stylized.shape[0]]),
                     torch.cat([boxes, boxes]), size)
    lab = rgb_to_lab(crops.clamp(0, 1))
    if blur_sigma > 0:
        k = 2 * int(3 * blur_sigma) + 1
        lab = gaussian_blur2d(lab, (k, k), (blur_sigma, blur_sigma), border_type="replicate")
    ours, theirs = lab.split(len(boxes))
    diff = (ours - theirs.detach()).pow(2)
    per_channel = torch.tensor([lightness, chroma, chroma], device=diff.device)[None, :, None, None]
    return (diff * per_channel).sum(dim=1).flatten(1).mean(dim=1)


def central_boxes(boxes: torch.Tensor, share: float, height: int, width: int) -> torch.Tensor:
    """The centre ``share`` of each box (in each direction), clipped to the image."""
    centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) * (share / 2)
    limit = boxes.new_tensor([width, height])
    return torch.cat([torch.maximum(centre - half, boxes.new_zeros(2)), torch.minimum(centre + half, limit)], dim=1)


class FaceTonePlugin(Plugin):
    """CIELAB distance between the blurred face regions of the content and the stylized image, per image.

    Args:
        lightness: weight of the squared L* difference (0: the style may relight faces freely).
        chroma: weight of the squared a* and b* differences (0: the style may recolour faces freely).
        share: the centre part of each MTCNN box compared, in each direction (1: the whole box).
        size: the grid each face region is resampled onto.
        blur_sigma: Gaussian blur in grid cells, applied to both Lab maps (0: cell by cell).
        min_face_size: faces smaller than this in the training crop (pixels) are skipped and counted.
        min_score: MTCNN detections below this confidence are skipped.
        detector: MTCNN options; part of the index key (the face term's defaults share its index).
        index_max_side: photos are detected scaled to this longer side (default 1024).

    Examples:
        >>> import torch, preserve
        >>> from preserve.faces.detections import Detections, FaceBatch
        >>> tone = preserve.create("face_tone")
        >>> x = torch.full((1, 3, 64, 64), 0.6)
        >>> face = FaceBatch(torch.tensor([0]), torch.tensor([[16.0, 16.0, 48.0, 48.0]]), torch.zeros(1, 5, 2),
        ...                  torch.tensor([0.99]), 1)
        >>> float(tone(preserve.LossContext(x, x, inputs={"faces": face})))
        0.0
        >>> bool(tone(preserve.LossContext(x * 0.5, x, inputs={"faces": face})) > 0)  # a darkened face
        True
    """

    card = PluginCard(
        name="face_tone",
        summary="keep each face's skin tone and lighting: CIELAB distance of the blurred face regions",
        default_weight=30.0,
        inputs=("faces",),
        weights="MTCNN P/R/O-Net (facenet-pytorch 2.6.0), shared with the face term",
        weights_licence="MIT (MTCNN port weights)",
    )
    stat_name = "faces"

    def __init__(self, lightness: float = 1.0, chroma: float = 1.0, share: float = 0.8, size: int = 16,
                 blur_sigma: float = 1.0, min_face_size: float = 24.0, min_score: float = 0.9,
                 detector: Mapping[str, Any] | None = None, index_max_side: int = 1024) -> None:
        super().__init__()
        if lightness < 0 or chroma < 0 or lightness + chroma == 0:
            raise ValueError("face_tone: 'lightness' and 'chroma' must be >= 0 and not both 0")
        if not 0 < share <= 1:
            raise ValueError(f"face_tone: 'share' must be in (0, 1], got {share}")
        if size < 2 or blur_sigma < 0:
            raise ValueError("face_tone: 'size' must be at least 2 and 'blur_sigma' >= 0")
        self.lightness, self.chroma, self.share = float(lightness), float(chroma), float(share)
        self.size, self.blur_sigma = int(size), float(blur_sigma)
        self.min_size, self.min_score = float(min_face_size), float(min_score)
        self.index = face_index(dict(detector or {}), index_max_side)
        self._stats: dict[str, float] = {}

    def needs(self) -> Needs:
        return Needs(inputs=frozenset({"faces"}))

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> Mapping[str, Detections]:
        return self.index.build(files, roots=roots, progress=progress)

    def forward(self, ctx: LossContext) -> torch.Tensor:
        found: FaceBatch = ctx.inputs["faces"]
        b, _, h, w = ctx.stylized.shape
        loss = torch.zeros(b, device=ctx.stylized.device)
        boxes = central_boxes(found.boxes.float(), self.share, h, w)
        side = torch.minimum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1])
        confident, big = found.scores >= self.min_score, side >= self.min_size
        visible = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
        keep = confident & big & visible
        self._stats = {"faces": float(keep.sum()), "faces_small": float((confident & ~big).sum())}
        if not bool(keep.any()):
            return loss
        index = found.image_index[keep].to(ctx.stylized.device)
        with torch.autocast(ctx.stylized.device.type, enabled=False):  # Lab and its squares in fp32
            per_face = face_tone_distance(ctx.stylized, ctx.content, index, boxes[keep], self.size,
                                          self.blur_sigma, self.lightness, self.chroma)
        return loss.index_add(0, index, per_face)

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def describe(self) -> dict[str, Any]:
        return {"lightness": self.lightness, "chroma": self.chroma, "share": self.share, "size": self.size,
                "blur_sigma": self.blur_sigma, "min_face_size": self.min_size, "min_score": self.min_score}
