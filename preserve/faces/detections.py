"""The one detection type: what a detector found in one image, and the flattened form a batch carries.

:class:`Detections` holds float32 tensors: ``boxes`` (N, 4) as x1, y1, x2, y2
in pixels, ``scores`` (N,), and ``landmarks`` (N, K, 2) as (x, y) points: K = 5
for MTCNN (eyes, nose, mouth corners, left before right), K = 0 for a detector
that gives boxes only. It follows a training crop exactly
(:meth:`Detections.transformed`), is stored in the face index as JSON, and
gathers into a :class:`FaceBatch` per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ..annotations import CropTransform

#: Landmark order after a horizontal flip: the eyes swap, and so do the mouth corners.
FLIP_LANDMARKS = (1, 0, 2, 4, 3)


@dataclass
class Detections:
    """Detections in one image (see the module docstring). Arrays or lists are converted to float32 tensors."""

    boxes: torch.Tensor
    scores: torch.Tensor
    landmarks: torch.Tensor

    def __post_init__(self) -> None:
        self.boxes = torch.as_tensor(self.boxes, dtype=torch.float32).reshape(-1, 4)
        n = self.boxes.shape[0]
        self.scores = torch.as_tensor(self.scores, dtype=torch.float32).reshape(n)
        marks = torch.as_tensor(self.landmarks, dtype=torch.float32)
        if marks.numel() == 0:  # no detections (keep the point count) or detections without landmarks
            points = marks.shape[1] if marks.dim() == 3 else (5 if n == 0 else 0)
            self.landmarks = marks.reshape(n, points, 2)
        else:
            self.landmarks = marks.reshape(n, -1, 2)

    @staticmethod
    def empty(points: int = 5) -> "Detections":
        return Detections(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, points, 2))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def transformed(self, t: CropTransform) -> "Detections":
        """The detections in the coordinates of a training crop (scaled, cropped, maybe mirrored)."""
        x1, y1 = t.apply(self.boxes[:, 0], self.boxes[:, 1])
        x2, y2 = t.apply(self.boxes[:, 2], self.boxes[:, 3])
        boxes = torch.stack([torch.minimum(x1, x2), torch.minimum(y1, y2), torch.maximum(x1, x2),
                             torch.maximum(y1, y2)], dim=1)
        lx, ly = t.apply(self.landmarks[..., 0], self.landmarks[..., 1])
        marks = torch.stack([lx, ly], dim=-1).reshape(self.landmarks.shape)
        if t.flip and marks.shape[1] == len(FLIP_LANDMARKS):
            marks = marks[:, list(FLIP_LANDMARKS)]
        return Detections(boxes, self.scores.clone(), marks)

    @classmethod
    def collate(cls, items: Sequence["Detections"]) -> "FaceBatch":
        return FaceBatch.from_list(list(items))

    def to_json(self) -> list[dict[str, Any]]:
        return [{"box": [round(float(v), 2) for v in b], "score": round(float(s), 5),
                 "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in m.tolist()]}
                for b, s, m in zip(self.boxes.tolist(), self.scores.tolist(), self.landmarks)]

    @staticmethod
    def from_json(items: list[dict[str, Any]]) -> "Detections":
        if not items:
            return Detections.empty()
        return Detections([f["box"] for f in items], [f["score"] for f in items],
                          [f.get("landmarks", []) for f in items])


@dataclass
class FaceBatch:
    """The detections of a batch, flattened: detection ``i`` belongs to image ``image_index[i]``."""

    image_index: torch.Tensor  # (N,) long
    boxes: torch.Tensor  # (N, 4)
    landmarks: torch.Tensor  # (N, K, 2)
    scores: torch.Tensor  # (N,)
    batch_size: int

    @staticmethod
    def from_list(items: list[Detections]) -> "FaceBatch":
        counts = [len(f) for f in items]
        found = [f for f in items if len(f)]
        if not found:
            return FaceBatch(torch.zeros(0, dtype=torch.long), torch.zeros(0, 4), torch.zeros(0, 5, 2),
                             torch.zeros(0), len(items))
        return FaceBatch(
            torch.repeat_interleave(torch.arange(len(items)), torch.tensor(counts)),
            torch.cat([f.boxes for f in found]),
            torch.cat([f.landmarks for f in found]),
            torch.cat([f.scores for f in found]),
            len(items),
        )

    def __len__(self) -> int:
        return int(self.image_index.shape[0])

    def select(self, keep: torch.Tensor) -> "FaceBatch":
        return FaceBatch(self.image_index[keep], self.boxes[keep], self.landmarks[keep], self.scores[keep],
                         self.batch_size)
