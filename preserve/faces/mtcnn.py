"""MTCNN face detection (Zhang et al. 2016), a batched plain-torch port.

P-Net runs over an image pyramid of the whole batch at once; the candidate
boxes of all images are cropped in one ``roi_align`` call and scored by R-Net
and O-Net in single batched calls. Weights are the P/R/O-Net state dicts from
the pinned ``facenet-pytorch`` wheel (MIT), fetched and verified by
:mod:`preserve.weights`; the package itself is never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, roi_align

from .. import weights
from .detections import Detections
from ..frozen import freeze

PNET, RNET, ONET = weights.MTCNN_PNET, weights.MTCNN_RNET, weights.MTCNN_ONET


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 2, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), F.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))  # the weights expect (W, H, C) order
        return self.dense5_2(x), F.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu3(self.conv3(x)), 2, 2, ceil_mode=True)
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), F.softmax(self.dense6_1(x), dim=1)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Grow each box to a square around its centre (MTCNN's ``rerec``)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side], dim=1)


def _regress(boxes: torch.Tensor, reg: torch.Tensor, plus_one: bool = True) -> torch.Tensor:
    extra = 1.0 if plus_one else 0.0
    w = boxes[:, 2] - boxes[:, 0] + extra
    h = boxes[:, 3] - boxes[:, 1] + extra
    return boxes + reg * torch.stack([w, h, w, h], dim=1)


def _nms_min(boxes: torch.Tensor, scores: torch.Tensor, idx: torch.Tensor, threshold: float) -> torch.Tensor:
    """NMS that divides the overlap by the smaller box's area (O-Net's final pass), per image."""
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    for image in idx.unique():
        order = torch.nonzero(idx == image).flatten()
        order = order[scores[order].argsort(descending=True)]
        while order.numel():
            i = int(order[0])
            keep.append(i)
            rest = order[1:]
            xx1 = torch.maximum(boxes[i, 0], boxes[rest, 0])
            yy1 = torch.maximum(boxes[i, 1], boxes[rest, 1])
            xx2 = torch.minimum(boxes[i, 2], boxes[rest, 2])
            yy2 = torch.minimum(boxes[i, 3], boxes[rest, 3])
            inter = (xx2 - xx1 + 1).clamp(min=0) * (yy2 - yy1 + 1).clamp(min=0)
            order = rest[inter / torch.minimum(area[i], area[rest]) <= threshold]
    return torch.tensor(keep, dtype=torch.long)


class MTCNN(nn.Module):
    """Batched MTCNN: ``detect(images)`` returns one :class:`Detections` per image.

    ``images`` are RGB in [0, 1]: a ``(B, 3, H, W)`` tensor or a list of
    ``(3, H, W)`` tensors of any sizes (equal sizes are run together).
    """

    def __init__(self, min_face_size: int = 20, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, weight_paths: dict[str, str | Path] | None = None) -> None:
        super().__init__()
        self.min_face_size = min_face_size
        self.thresholds = tuple(thresholds)
        self.factor = factor
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        paths = weight_paths or {}
        for net, spec, key in ((self.pnet, PNET, "pnet"), (self.rnet, RNET, "rnet"), (self.onet, ONET, "onet")):
            path = paths.get(key) or weights.resolve(spec)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        freeze(self)

    @torch.no_grad()
    def detect(self, images: torch.Tensor | Sequence[torch.Tensor]) -> list[Detections]:
        items = list(images) if not isinstance(images, torch.Tensor) or images.dim() == 4 else [images]
        results: list[Detections | None] = [None] * len(items)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(items):
            groups.setdefault(tuple(img.shape[-2:]), []).append(i)
        for indices in groups.values():
            batch = torch.stack([items[i] for i in indices]).float() * 255.0
            for i, det in zip(indices, self._detect_batch(batch)):
                results[i] = det
        return [r if r is not None else Detections.empty() for r in results]

    def _scales(self, h: int, w: int) -> list[float]:
        m = 12.0 / self.min_face_size
        side = min(h, w) * m
        scales = []
        scale = m
        while side >= 12:
            scales.append(scale)
            scale *= self.factor
            side *= self.factor
        return scales

    def _crop(self, imgs: torch.Tensor, boxes: torch.Tensor, idx: torch.Tensor, size: int) -> torch.Tensor:
        rois = torch.cat([idx[:, None].float(), boxes[:, :2] - 1, boxes[:, 2:4]], dim=1)
        crops = roi_align(imgs, rois, (size, size), spatial_scale=1.0, sampling_ratio=2, aligned=False)
        return (crops - 127.5) * 0.0078125

    def _detect_batch(self, imgs: torch.Tensor) -> list[Detections]:
        b, _, h, w = imgs.shape
        t1, t2, t3 = self.thresholds
        all_boxes, all_idx = [], []
        for scale in self._scales(h, w):
            scaled = F.interpolate(imgs, size=(int(h * scale + 1), int(w * scale + 1)), mode="area")
            reg, prob = self.pnet((scaled - 127.5) * 0.0078125)
            mask = prob[:, 1] >= t1
            where = mask.nonzero()
            if where.numel() == 0:
                continue
            idx = where[:, 0]
            yx = where[:, 1:].float()
            q1 = ((2 * yx + 1) / scale).floor().flip(1)
            q2 = ((2 * yx + 12) / scale).floor().flip(1)
            boxes = torch.cat([q1, q2, prob[:, 1][mask][:, None], reg.permute(0, 2, 3, 1)[mask]], dim=1)
            keep = batched_nms(boxes[:, :4], boxes[:, 4], idx, 0.5)
            all_boxes.append(boxes[keep])
            all_idx.append(idx[keep])
        if not all_boxes:
            return [Detections.empty() for _ in range(b)]
        boxes, idx = torch.cat(all_boxes), torch.cat(all_idx)
        keep = batched_nms(boxes[:, :4], boxes[:, 4], idx, 0.7)
        boxes, idx = boxes[keep], idx[keep]
        boxes = _square(_regress(boxes[:, :4], boxes[:, 5:9], plus_one=False))

        reg, prob = self.rnet(self._crop(imgs, boxes, idx, 24))
        ok = prob[:, 1] > t2
        boxes, idx, scores, reg = boxes[ok], idx[ok], prob[ok, 1], reg[ok]
        keep = batched_nms(boxes, scores, idx, 0.7)
        boxes = _square(_regress(boxes[keep], reg[keep]))
        idx = idx[keep]
        if boxes.numel() == 0:
            return [Detections.empty() for _ in range(b)]

        reg, marks, prob = self.onet(self._crop(imgs, boxes, idx, 48))
        ok = prob[:, 1] > t3
        boxes, idx, scores, reg, marks = boxes[ok], idx[ok], prob[ok, 1], reg[ok], marks[ok]
        wh = (boxes[:, 2:4] - boxes[:, 0:2] + 1)
        points = torch.stack([marks[:, :5], marks[:, 5:]], dim=2) * wh[:, None, :] + boxes[:, None, 0:2] - 1
        boxes = _regress(boxes, reg)
        keep = _nms_min(boxes, scores, idx, 0.7)
        boxes, idx, scores, points = boxes[keep], idx[keep], scores[keep], points[keep]
        out = []
        for i in range(b):
            sel = idx == i
            order = scores[sel].argsort(descending=True)
            out.append(Detections(boxes[sel][order], scores[sel][order], points[sel][order]))
        return out
