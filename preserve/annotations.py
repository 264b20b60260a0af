"""Per-image annotations that plugins compute once and the data pipeline carries along.

A plugin that needs something about each content image (face boxes and
landmarks, say) computes it once per dataset file in :meth:`Plugin.annotate`.
The training data pipeline then moves it through exactly the geometric
transform that the image went through (scale, crop, horizontal flip) with
:meth:`Annotation.transformed`, and gathers a batch with ``collate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class CropTransform:
    """How a training sample was made from its file: ``x' = x * scale_x - left`` (then mirrored if ``flip``).

    Coordinates are in pixels of the image as displayed (after EXIF
    orientation). ``size`` is the side of the square training crop; a
    non-square result (a whole photo scaled for optimisation mode) gives its
    ``(height, width)`` as ``shape``.
    """

    scale_x: float
    scale_y: float
    left: float
    top: float
    size: int
    flip: bool
    shape: tuple[int, int] | None = None

    @property
    def out_hw(self) -> tuple[int, int]:
        """Height and width of the result."""
        return self.shape if self.shape is not None else (self.size, self.size)

    @classmethod
    def scaled(cls, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> "CropTransform":
        """A whole image scaled from ``from_hw`` to ``to_hw`` (aspect ratio as given), no crop, no flip."""
        (h, w), (th, tw) = from_hw, to_hw
        return cls(tw / w, th / h, 0, 0, max(th, tw), False, shape=(th, tw))

    def apply(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Map point coordinates (numbers or numpy arrays) from the file into the crop."""
        nx = x * self.scale_x - self.left
        ny = y * self.scale_y - self.top
        if self.flip:
            nx = self.out_hw[1] - nx
        return nx, ny


@runtime_checkable
class Annotation(Protocol):
    """What the data pipeline needs from a plugin's per-image annotation."""

    def transformed(self, t: CropTransform) -> "Annotation":
        """The annotation in the coordinates of the training crop."""

    @classmethod
    def collate(cls, items: Sequence["Annotation"]) -> Any:
        """One batch object from the annotations of the samples of a batch, in batch order."""
