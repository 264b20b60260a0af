"""Small faces stylized at a size the network keeps them at, then blended back in.

A style network paints strokes of a fixed size in pixels. On a face 20 px wide
those strokes are as large as its eyes, and the person is lost, with or without
a face term: on the held-out photos the shipped ``-faces`` model keeps faces of
32 px and more better than its plain twin in 351 of 352 cases, but faces under
32 px in only 98 of 128 (docs/benchmarks.md, "Small faces").

:class:`FaceZoom` finds the faces (MTCNN) narrower than ``target`` pixels and
stylizes the region around each at the zoom that makes the smallest of them
``target`` px wide (at most ``max_zoom``). The network's instance-norm statistics
are those of the whole image at that zoom (see :mod:`preserve.tiling`), so the
zoomed regions take the colours the whole image would have; only the strokes
are finer. Each region is scaled back down and blended into the ordinary
stylization under a feathered ellipse over the face. Faces of ``target`` px and
more, and images without faces, are left exactly as the network paints them.

:func:`zoom_faces` is the same for given boxes, without the detector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .imageio import fit_size, resize
from .tiling import instance_norm_hooks, run_aligned

# The blend mask: an ellipse over the face box, 1.3 box widths wide and 1.5 box heights tall (hair, chin and
# ears stay with the face), feathered to zero at 1.4 times those radii.
_ELLIPSE_X, _ELLIPSE_Y, _FEATHER = 0.65, 0.75, 1.4
#: Context around a face's mask, in pixels of the zoomed region, so the network's receptive field and
#: reflection padding at the region's border do not reach the blended part.
CONTEXT_PX = 64
#: The whole image's statistics are measured on the zoomed image, scaled down to this longer side if larger.
STATS_SIDE = 2048


def face_mask(boxes: torch.Tensor, height: int, width: int, *, offset: tuple[float, float] = (0.0, 0.0)
              ) -> torch.Tensor:
    """A ``(1, height, width)`` blend mask in [0, 1]: one feathered ellipse per ``(x1, y1, x2, y2)`` box.

    ``offset`` is the ``(x, y)`` of the mask's top-left pixel in the boxes' coordinates.
    """
    ys = torch.arange(height, dtype=torch.float32) + 0.5 + offset[1]
    xs = torch.arange(width, dtype=torch.float32) + 0.5 + offset[0]
    mask = torch.zeros(height, width)
    for x1, y1, x2, y2 in boxes.tolist():
        rx, ry = max(_ELLIPSE_X * (x2 - x1), 0.5), max(_ELLIPSE_Y * (y2 - y1), 0.5)
        d = (((xs[None, :] - (x1 + x2) / 2) / rx) ** 2 + ((ys[:, None] - (y1 + y2) / 2) / ry) ** 2).sqrt()
        t = ((_FEATHER - d) / (_FEATHER - 1.0)).clamp(0, 1)
        mask = torch.maximum(mask, t * t * (3 - 2 * t))  # smoothstep: no visible edge where the feather ends
    return mask[None]


@torch.no_grad()
def zoom_faces(net: nn.Module, image: torch.Tensor, stylized: torch.Tensor, boxes: torch.Tensor,
               zoom: float, stats_side: int = STATS_SIDE) -> torch.Tensor:
    """``stylized`` (``net``'s output on ``image``, both ``(3, H, W)``) with the faces in ``boxes`` (``(N, 4)``,
    x1 y1 x2 y2 in image pixels) stylized at ``zoom`` times the size and blended back in; a new tensor.
    The instance-norm statistics come from the whole image at that zoom, scaled down to ``stats_side`` if
    larger."""
    if not isinstance(net, nn.Module):
        raise TypeError("face zoom needs a torch style network (the onnxruntime backend cannot fix its "
                        "instance-norm statistics)")
    out = stylized.clone()
    if len(boxes) == 0 or zoom <= 1.0:
        return out
    h, w = image.shape[-2:]
    zoomed = (max(1, round(h * zoom)), max(1, round(w * zoom)))
    whole = resize(image, fit_size(zoomed, stats_side) if max(zoomed) > stats_side else zoomed)
    with instance_norm_hooks(net, None, record=True) as stats:
        run_aligned(net, whole)
    with instance_norm_hooks(net, stats, record=False):
        for box in boxes:
            x1, y1, x2, y2 = box.tolist()
            reach_x = _FEATHER * _ELLIPSE_X * (x2 - x1) + CONTEXT_PX / zoom
            reach_y = _FEATHER * _ELLIPSE_Y * (y2 - y1) + CONTEXT_PX / zoom
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            left, right = max(0, math.floor(cx - reach_x)), min(w, math.ceil(cx + reach_x))
            top, bottom = max(0, math.floor(cy - reach_y)), min(h, math.ceil(cy + reach_y))
            if right - left < 2 or bottom - top < 2:
                continue
            region = image[:, top:bottom, left:right]
            size = (max(16, round((bottom - top) * zoom)), max(16, round((right - left) * zoom)))
            detail = resize(run_aligned(net, resize(region, size)).clamp(0, 1), (bottom - top, right - left))
            mask = face_mask(box[None], bottom - top, right - left, offset=(left, top))
            patch = out[:, top:bottom, left:right]
            out[:, top:bottom, left:right] = patch + mask * (detail - patch)
    return out


@dataclass
class FaceZoom:
    """Stylize faces narrower than ``target`` px at a zoom that makes them ``target`` px wide (module docstring).

    ``max_zoom`` bounds the zoom (and the time: the whole image is run once more at that zoom, scaled down
    to ``stats_side`` if larger); ``min_face_size`` and ``min_score`` are the detector's (MTCNN finds no
    face under ``min_face_size`` px); ``detect_side`` scales large images down for detection. ``min_score``
    is that of the faces ``preserve evaluate`` judges: on the train and tune photos, the small detections
    scoring 0.9 to 0.95 were blurs, patterns, lettering, animals and a sculpture, none recognisably a
    person (``python benchmarks/face_zoom.py --scores``), and each one zoomed costs time for nothing.

    ``stats_side`` trades the faces' colour for time: the statistics pass is most of face zoom's cost, and
    a smaller side makes it cheaper, but instance-norm statistics depend on scale, so the zoomed faces drift
    from the colours the whole image would have at that zoom (``python benchmarks/face_zoom.py
    --stats-sides``; docs/benchmarks.md, "Face zoom").
    """

    target: float = 64.0
    max_zoom: float = 4.0
    min_face_size: int = 12
    min_score: float = 0.95
    detect_side: int = 2048
    stats_side: int = STATS_SIDE
    _detector: nn.Module | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.target > 0:
            raise ValueError(f"face zoom target must be a positive number of pixels, got {self.target}")
        if not self.max_zoom >= 1:
            raise ValueError(f"face zoom max_zoom must be at least 1, got {self.max_zoom}")
        if not self.stats_side >= 64:
            raise ValueError(f"face zoom stats_side must be at least 64 px, got {self.stats_side}")

    def faces(self, image: torch.Tensor) -> torch.Tensor:
        """``(N, 4)`` boxes of the faces in ``image`` (``(3, H, W)`` in [0, 1]) narrower than ``target`` px."""
        if self._detector is None:
            from .faces.mtcnn import MTCNN

            self._detector = MTCNN(min_face_size=self.min_face_size)
        h, w = image.shape[-2:]
        scale = min(1.0, self.detect_side / max(h, w))
        seen = resize(image, fit_size((h, w), self.detect_side)) if scale < 1.0 else image
        found = self._detector.detect(seen[None].float())[0]
        boxes = found.boxes[found.scores >= self.min_score] / scale
        return boxes[(boxes[:, 2] - boxes[:, 0]) < self.target]

    def zoom_for(self, boxes: torch.Tensor) -> float:
        """The zoom that makes the narrowest of ``boxes`` ``target`` px wide, within [1, ``max_zoom``]."""
        if len(boxes) == 0:
            return 1.0
        narrowest = float((boxes[:, 2] - boxes[:, 0]).min().clamp_min(1.0))
        return min(self.max_zoom, max(1.0, self.target / narrowest))

    @classmethod
    def of(cls, value: "FaceZoom | float | None") -> "FaceZoom | None":
        """What a ``face_zoom`` option holds: a FaceZoom as it is, a width in pixels as its target, or None."""
        return cls(target=float(value)) if isinstance(value, (int, float)) else value

    def __call__(self, net: nn.Module, image: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
        """``stylized`` (``net`` on ``image``) with its small faces stylized zoomed and blended back in."""
        boxes = self.faces(image)
        return zoom_faces(net, image, stylized, boxes, self.zoom_for(boxes), self.stats_side)
