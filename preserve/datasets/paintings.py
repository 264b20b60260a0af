"""The public-domain paintings the shipped styles are trained on, rebuilt from pinned Debian packages.

Most come from ``gcompris-qt-data``: its *paintings* activity stores each painting as jigsaw pieces with
transparent tabs, and the activity's board file gives every piece's centre as a fraction of the board, so
pasting them back reproduces the painting exactly (up to a few anti-aliased seam pixels, filled from their
neighbours). Its *details* activity holds complete Van Gogh paintings. The Starry Night and The Scream
come from ``opencv-doc`` and ``darknet``.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_write
from .debian import DARKNET, GCOMPRIS, OPENCV_DOC, DebianPackage, unpack
from .rcc import read_rcc

_RCC = "usr/share/gcompris-qt/rcc"
_PAINTINGS = "gcompris/src/activities/paintings/resource/"
_DETAILS = "gcompris/src/activities/details/resource/image/"


@dataclass(frozen=True)
class Painting:
    """One style painting: what it is, and where in which package its reproduction lives."""

    name: str
    title: str
    artist: str
    year: str
    package: DebianPackage
    where: str  # "board:N" (a jigsaw board of the paintings activity), "details:FILE" or a path in the package
    reproduction_licence: str

    @property
    def credit(self) -> str:
        return f"{self.artist}, *{self.title}* ({self.year})"


_WEBMUSEUM = "painting public domain; reproduction from the WebMuseum (Nicolas Pioch), GPL-3.0+ in gcompris"
PAINTINGS: dict[str, Painting] = {p.name: p for p in (
    Painting("great_wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "1831", GCOMPRIS, "board:7",
             _WEBMUSEUM),
    Painting("starry_night", "The Starry Night", "Vincent van Gogh", "1889", OPENCV_DOC,
             "usr/share/doc/opencv-doc/examples/data/starry_night.jpg", "painting public domain; package "
             "Apache-2.0/BSD"),
    Painting("the_scream", "The Scream", "Edvard Munch", "1893", DARKNET, "usr/share/darknet/data/scream.jpg",
             "painting public domain; package GPL-3.0+ or MIT or WTFPL"),
    Painting("woman_with_fan", "Woman Holding a Fan (ukiyo-e)", "Katsushika Hokusai", "c. 1825", GCOMPRIS,
             "board:5", _WEBMUSEUM),
    Painting("composition_viii", "Composition VIII", "Wassily Kandinsky", "1923", GCOMPRIS, "board:19",
             _WEBMUSEUM),
    Painting("cafe_terrace", "Café Terrace at Night", "Vincent van Gogh", "1888", GCOMPRIS,
             "details:Gogh4_background.webp", "painting public domain; reproduction in gcompris "
             "(details activity, README: public domain)"),
    Painting("night_cafe", "The Night Café", "Vincent van Gogh", "1888", GCOMPRIS,
             "details:Van_Gogh_The_Night_Cafe_background.webp", "painting public domain; reproduction in "
             "gcompris (details activity, README: public domain)"),
    Painting("moulin_de_la_galette", "Bal du moulin de la Galette", "Pierre-Auguste Renoir", "1876", GCOMPRIS,
             "board:1", _WEBMUSEUM),
)}


def fill_gaps(rgba: Image.Image) -> Image.Image:
    """RGB with every not fully opaque pixel replaced by the alpha-weighted mean of its neighbourhood
    (repeated until none is left): the seams between jigsaw pieces disappear without a visible patch."""
    array = np.asarray(rgba, dtype=np.float64)
    rgb, alpha = array[..., :3] / 255.0, array[..., 3] / 255.0
    known = alpha >= 1.0
    rgb = rgb * alpha[..., None]
    weight = alpha.copy()
    for _ in range(32):
        if known.all():
            break
        padded_rgb = np.pad(rgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
        padded_w = np.pad(weight, 1, mode="edge")
        sum_rgb = sum(padded_rgb[1 + dy:padded_rgb.shape[0] - 1 + dy, 1 + dx:padded_rgb.shape[1] - 1 + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        sum_w = sum(padded_w[1 + dy:padded_w.shape[0] - 1 + dy, 1 + dx:padded_w.shape[1] - 1 + dx]
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        fill = ~known & (sum_w > 0)
        rgb[fill] = sum_rgb[fill] / sum_w[fill][:, None]
        weight[fill] = 1.0
        known = known | fill
    return Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")


_PIECE = re.compile(r'"pixmapfile"\s*:\s*"image/([\w.-]+\.webp)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,\s*"y"\s*:\s*"([\d.]+)"')
_BOARD = re.compile(r'"width"\s*:\s*(\d+)\s*,\s*"height"\s*:\s*(\d+)')


def reassemble(board: str, pieces: dict[str, bytes]) -> Image.Image:
    """A painting from a jigsaw board file (QML) and its piece images (``{file name: webp bytes}``)."""
    size = _BOARD.search(board)
    placed = _PIECE.findall(board)
    if size is None or not placed:
        raise ValueError("not a paintings board: no board size or no pieces")
    width, height = int(size.group(1)), int(size.group(2))
    canvas = Image.new("RGBA", (width, height))
    for name, x, y in placed:
        piece = Image.open(io.BytesIO(pieces[name])).convert("RGBA")
        canvas.alpha_composite(piece, (round(float(x) * width - piece.width / 2),
                                       round(float(y) * height - piece.height / 2)))
    box = canvas.getbbox()
    if box is None:
        raise ValueError("the board's pieces are all transparent")
    return fill_gaps(canvas.crop(box))


def load_painting(painting: Painting) -> Image.Image:
    """The painting as an RGB image, read from its (fetched and unpacked) package."""
    root = unpack(painting.package)
    kind, _, where = painting.where.partition(":")
    if kind == "board":
        files = read_rcc(root / _RCC / "paintings.rcc")
        pieces = {k[len(_PAINTINGS) + len("image/"):]: v for k, v in files.items()
                  if k.startswith(_PAINTINGS + "image/")}
        return reassemble(files[f"{_PAINTINGS}board/board{where}_0.qml"].decode("utf-8"), pieces)
    if kind == "details":
        files = read_rcc(root / _RCC / "details.rcc")
        return Image.open(io.BytesIO(files[_DETAILS + where])).convert("RGB")
    return Image.open(root / painting.where).convert("RGB")


def write_paintings(out: str | Path, names: list[str] | None = None) -> list[Path]:
    """Write ``NAME.jpg`` (quality 95, the reproduction's own size) for each painting into ``out``."""
    out = Path(out)
    written = []
    for name in names or list(PAINTINGS):
        if name not in PAINTINGS:
            raise KeyError(f"unknown painting {name!r}; known: {', '.join(PAINTINGS)}")
        image = load_painting(PAINTINGS[name])
        written.append(atomic_write(out / f"{name}.jpg", lambda tmp, im=image: im.save(tmp, "JPEG", quality=95)))
    return written
