"""Target-content preservation: keep whatever a detector finds recognisable to an embedder.

The paper's future work: faces are one kind of target content; hands, text,
logos or pets are others. This plugin takes any detector (a registered name
such as ``mtcnn``, or a Python callable returning boxes, scores and optional
landmarks for one image) and any embedder (a registered face embedder, or a
module or function from crops to embeddings), and penalises the embedding
distance between each detected region of the content image and the same region
of the stylized image. Detections are made once per content file and cached in
a sidecar index; they follow every crop and flip. The ``face`` plugin is this
plugin configured with MTCNN and SFace.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch

from preserve.faces.embedders import EMBEDDERS, CallableEmbedder, FaceEmbedder
from preserve.faces.detections import Detections, FaceBatch
from preserve.faces.index import DetectionIndex
from preserve.plugin import LossContext, Needs, Plugin, PluginCard

DISTANCES = ("squared_l2", "cosine")


def _callable_key(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


class TargetPlugin(Plugin):
    """Embedding distance between detected regions of the content and the stylized image, summed per image.

    Args:
        detector: a registered detector (``"mtcnn"``) or a callable from one ``(3, H, W)`` image to boxes
            (x1, y1, x2, y2), scores and optional landmarks (a tuple, a dict or :class:`Detections`).
        embedder: a registered face embedder (``"sface"``, ``"facenet"``, ...; a mapping adds options)
            or a callable from ``(N, 3, crop_size, crop_size)`` crops to embeddings.
        distance: ``squared_l2`` (default) or ``cosine`` between the L2-normalised embeddings.
        min_size: detections smaller than this (pixels, shorter box side, in the training crop) are skipped.
        min_score: detections below this confidence are skipped.
        detector_options: options for a registered detector (part of the index key).
        crop_size: crop side for a callable embedder.
        input_name: the name of the extra input (and of the counters in the logs).
        index_key: the index key of a callable detector (default: its module and name).
        index_max_side: files are detected scaled to this longer side (default 1024).
        index_name: the sidecar file name (default ``.preserve-<input>-<detector>.json``).

    Examples:
        >>> import torch, preserve
        >>> centre = lambda img: ([[img.shape[-1] / 4, img.shape[-2] / 4, 3 * img.shape[-1] / 4,
        ...                         3 * img.shape[-2] / 4]], [1.0])
        >>> target = preserve.create("target", detector=centre, embedder=lambda c: c.mean((2, 3)), min_size=4,
        ...                          crop_size=8)
        >>> x = torch.rand(1, 3, 32, 32)
        >>> from preserve.faces.index import FaceBatch
        >>> found = FaceBatch.from_list([target.index.detector()(x[0])])
        >>> float(target(preserve.LossContext(x, x, inputs={"targets": found})))
        0.0
        >>> target.stats()
        {'targets': 1.0, 'targets_small': 0.0, 'targets_cut': 0.0}
    """

    card = PluginCard(
        name="target",
        summary="keep detected target content recognisable: any detector + any embedder, distance of the crops",
        default_weight=1.0e5,
        inputs=("targets",),
    )
    #: The name under which counts appear in the logs (``<term>_<stat>``).
    stat_name = "targets"

    def __init__(
        self,
        detector: str | Callable[[torch.Tensor], Any] = "mtcnn",
        embedder: str | Mapping[str, Any] | Callable[[torch.Tensor], torch.Tensor] = "sface",
        distance: str = "squared_l2",
        min_size: float = 24.0,
        min_score: float = 0.5,
        detector_options: Mapping[str, Any] | None = None,
        crop_size: int = 112,
        input_name: str = "targets",
        index_key: str | None = None,
        index_max_side: int = 1024,
        index_name: str | None = None,
    ) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"{self.card.name}: 'distance' must be one of {DISTANCES}, got {distance!r}")
        self.embedder_name, self.embedder = self._embedder(embedder, crop_size)
        options = dict(detector_options or {})
        if isinstance(detector, str):
            sidecar = index_name or f".preserve-{input_name}-{detector}.json"
            self.index = DetectionIndex.registered(detector, options, sidecar, index_max_side)
        else:
            name = index_key or _callable_key(detector)
            sidecar = index_name or f".preserve-{input_name}-{name.rsplit('.', 1)[-1]}.json"
            self.index = DetectionIndex(lambda: _as_detector(detector), {"detector": name}, sidecar, index_max_side)
        self.detector_name = detector if isinstance(detector, str) else _callable_key(detector)
        self.distance = distance
        self.min_size = float(min_size)
        self.min_score = float(min_score)
        self.input_name = input_name
        self._stats: dict[str, float] = {}

    @staticmethod
    def _embedder(spec: Any, crop_size: int) -> tuple[str, FaceEmbedder]:
        if isinstance(spec, (str, Mapping)):
            options = dict(spec) if isinstance(spec, Mapping) else {"name": spec}
            name = str(options.pop("name", "sface"))
            return name, EMBEDDERS.create(name, **options)
        return _callable_key(spec), CallableEmbedder(spec, crop_size)

    def needs(self) -> Needs:
        return Needs(inputs=frozenset({self.input_name}))

    def annotate(self, files: Sequence[str], roots: Sequence[str] | None = None,
                 progress: bool = True) -> Mapping[str, Detections]:
        return self.index.build(files, roots=roots, progress=progress)

    def usable(self, found: FaceBatch, height: int, width: int) -> torch.Tensor:
        """Which detections to use: confident, large enough, and with every landmark inside the image."""
        size = torch.minimum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1])
        marks = found.landmarks
        inside = (marks[..., 0] >= 0) & (marks[..., 0] < width) & (marks[..., 1] >= 0) & (marks[..., 1] < height)
        boxes_inside = (found.boxes[:, 2] > 0) & (found.boxes[:, 0] < width) & (found.boxes[:, 3] > 0) \
            & (found.boxes[:, 1] < height)
        confident = found.scores >= self.min_score
        big = size >= self.min_size
        whole = inside.all(dim=1) & boxes_inside
        n = self.stat_name
        self._stats = {n: float((confident & big & whole).sum()), f"{n}_small": float((confident & ~big).sum()),
                       f"{n}_cut": float((confident & big & ~whole).sum())}
        return confident & big & whole

    def forward(self, ctx: LossContext) -> torch.Tensor:
        found: FaceBatch = ctx.inputs[self.input_name]
        b, _, h, w = ctx.stylized.shape
        loss = torch.zeros(b, device=ctx.stylized.device)
        if len(found) == 0:
            n = self.stat_name
            self._stats = {n: 0.0, f"{n}_small": 0.0, f"{n}_cut": 0.0}
            return loss
        found = found.select(self.usable(found, h, w))
        if len(found) == 0:
            return loss
        index = found.image_index.to(ctx.stylized.device)
        # Both sides in fp32, outside any autocast: an embedding of the content made in bf16 and one of the
        # stylized image made in fp32 differ even for identical images, which biases the loss and its gradient.
        with torch.autocast(ctx.stylized.device.type, enabled=False):
            with torch.no_grad():
                target = self.embedder.crop_and_embed(ctx.content.float(), index, found.boxes, found.landmarks)
            emb = self.embedder.crop_and_embed(ctx.stylized.float(), index, found.boxes, found.landmarks)
        if self.distance == "squared_l2":
            per_item = (emb - target).pow(2).sum(dim=1)
        else:
            per_item = 1.0 - (emb * target).sum(dim=1)
        return loss.index_add(0, index, per_item)

    def stats(self) -> dict[str, float]:
        return dict(self._stats)

    def describe(self) -> dict[str, Any]:
        return {"detector": self.detector_name, "embedder": self.embedder_name, "distance": self.distance,
                "min_size": self.min_size, "min_score": self.min_score, "input": self.input_name}


def _as_detector(fn: Callable[[torch.Tensor], Any]) -> Callable[[torch.Tensor], Detections]:
    """Accept a user's callable returning Detections, a dict, or a (boxes, scores[, landmarks]) tuple."""

    def detect(rgb: torch.Tensor) -> Detections:
        out = fn(rgb)
        if isinstance(out, Detections):
            return out
        if isinstance(out, Mapping):
            boxes, scores, marks = out["boxes"], out.get("scores"), out.get("landmarks")
        else:
            boxes, scores, marks = (tuple(out) + (None, None))[:3]
        n = torch.as_tensor(boxes).reshape(-1, 4).shape[0]
        return Detections(boxes, torch.ones(n) if scores is None else scores,
                          torch.zeros(n, 0, 2) if marks is None else marks)

    return detect
