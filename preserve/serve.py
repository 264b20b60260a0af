"""``preserve serve``: a local web page to try the shipped styles on a photo (needs ``preserve[web]``).

One page (no build step, no external assets): upload a photo or pick an example, choose a style or blend
two, set the strength, toggle face preservation (the ``NAME-faces`` model), face zoom for small faces
(:mod:`preserve.facezoom`) and colour preservation, and see
the original and the result side by side with the time it took; the result can be downloaded.

How it behaves:

* It binds to 127.0.0.1 unless told otherwise (``--host``).
* Stylizing runs on one worker thread, off the request handlers, behind a bounded queue: a request that
  arrives while another runs waits its turn; only when ``queue`` requests already wait is it refused
  ("busy"), never dropped silently.
* Uploads are limited in bytes and megapixels, and decoded by preserve's own decoder (truncated files,
  decompression bombs, 16-bit, RGBA, CMYK and EXIF rotation handled as everywhere else). A refused file gets
  a one-line message on the page. The upload is written only into a temporary folder, removed as soon as
  the response is made; the result is sent back inline and kept nowhere.
"""

import asyncio
import base64
import io
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import torch

from .imageio import ImageReadError, is_image_path, load_image, to_pil

PAGE = Path(__file__).resolve().parent / "serve_page.html"


@dataclass
class ServeConfig:
    """Limits and sources of the web page."""

    photos: Path | None = None  # example photos to offer (default: none)
    max_bytes: int = 20 * 2**20
    max_megapixels: float = 24.0
    max_side: int = 1600  # results are computed at most this large on their longer side
    queue: int = 4  # requests allowed to wait while one runs


class Busy(RuntimeError):
    """More requests are waiting than the queue holds."""


class Stylizer:
    """The shipped styles, loaded on first use, run one request at a time on a worker thread."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preserve-stylize")
        self.slots = threading.BoundedSemaphore(config.queue + 1)
        self.nets: dict[str, torch.nn.Module] = {}
        self.zoom: Any = None  # a FaceZoom (and its face detector), made on first use

    def styles(self) -> list[str]:
        from .styles import list_styles

        return [name for name in list_styles() if not name.endswith("-faces")]

    def _net(self, name: str) -> torch.nn.Module:
        from .styles import find_style
        from .stylize import for_inference, load_model

        path, _ = find_style(name)
        key = str(path)
        if key not in self.nets:
            self.nets[key] = for_inference(load_model(path))
        return self.nets[key]

    def run(self, image: torch.Tensor, options: dict[str, Any]) -> tuple[torch.Tensor, float]:
        """Stylize on the calling thread (the worker); returns the image and the seconds it took."""
        from .styles import find_style
        from .stylize import blend_with_photo, choose_style, stylize_tensor

        start = time.perf_counter()
        suffix = "-faces" if options["faces"] else ""
        first = options["style"] + suffix
        path, inner = find_style(first)
        net = self._net(first)
        if options.get("blend_with") and options.get("blend", 0) > 0:
            other, other_inner = find_style(options["blend_with"] + suffix)
            if other != path or inner is None or other_inner is None:
                raise ValueError("these two styles cannot be blended: they are not in one multi-style model")
            weight = float(options["blend"])
            net = choose_style(net, {inner: 1 - weight, other_inner: weight})
        elif inner is not None:
            net = choose_style(net, inner)
        out = stylize_tensor(net, image)
        if options.get("zoom"):
            from .facezoom import FaceZoom

            self.zoom = self.zoom or FaceZoom()
            out = self.zoom(net, image, out)
        out = blend_with_photo(out, image, float(options["strength"]), options["color"])
        return out.clamp(0, 1), time.perf_counter() - start

    async def submit(self, image: torch.Tensor, options: dict[str, Any]) -> tuple[torch.Tensor, float]:
        if not self.slots.acquire(blocking=False):
            raise Busy(f"busy: {self.config.queue} requests are already waiting; try again in a moment")
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, self.run, image, options)
        finally:
            self.slots.release()


def decode_upload(data: bytes, name: str, config: ServeConfig) -> torch.Tensor:
    """An uploaded file as an RGB tensor, or a ValueError with a message for the page."""
    if not data:
        raise ValueError("the file is empty")
    if len(data) > config.max_bytes:
        raise ValueError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {config.max_bytes / 2**20:.0f} MB")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise ValueError("this file is not an image preserve can read (JPEG, PNG, WebP, TIFF, BMP, GIF)") from None
    if width * height > config.max_megapixels * 1e6:
        raise ValueError(f"the image is {width * height / 1e6:.0f} megapixels; the limit is "
                         f"{config.max_megapixels:g}")
    with tempfile.TemporaryDirectory(prefix="preserve-upload-") as tmp:
        path = Path(tmp) / ("upload" + (Path(name).suffix.lower() if is_image_path(name) else ".img"))
        path.write_bytes(data)
        try:
            return load_image(path, max_side=config.max_side).rgb
        except ImageReadError as exc:
            raise ValueError(f"the image cannot be decoded: {exc.reason}") from None


def png_data_url(image: torch.Tensor) -> str:
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def create_app(config: ServeConfig | None = None) -> Any:
    """The FastAPI application of the page (see the module docstring)."""
    try:
        from fastapi import FastAPI, File, Form, UploadFile
        from fastapi.responses import HTMLResponse, JSONResponse, Response
    except ImportError:
        raise ImportError("the web page needs FastAPI and uvicorn: pip install 'preserve[web]'") from None
    config = config or ServeConfig()
    stylizer = Stylizer(config)
    app = FastAPI(title="preserve", docs_url=None, redoc_url=None)
    examples = sorted(p.name for p in config.photos.iterdir() if is_image_path(p)) \
        if config.photos and config.photos.is_dir() else []

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/api/options")
    def options() -> dict[str, Any]:
        return {"styles": stylizer.styles(), "examples": examples,
                "limits": {"megabytes": config.max_bytes / 2**20, "megapixels": config.max_megapixels}}

    @app.get("/api/example/{name}")
    def example(name: str) -> Response:
        if name not in examples:
            return JSONResponse({"error": f"no example photo {name!r}"}, status_code=404)
        assert config.photos is not None
        return Response((config.photos / name).read_bytes(), media_type="image/jpeg")

    @app.post("/api/stylize")
    async def stylize(style: Annotated[str, Form()], photo: Annotated[UploadFile | None, File()] = None,
                      example_name: Annotated[str, Form()] = "", blend_with: Annotated[str, Form()] = "",
                      blend: Annotated[float, Form()] = 0.0, strength: Annotated[float, Form()] = 1.0,
                      faces: Annotated[bool, Form()] = False, color: Annotated[bool, Form()] = False,
                      zoom: Annotated[bool, Form()] = False) -> JSONResponse:
        try:
            if style not in stylizer.styles() or (blend_with and blend_with not in stylizer.styles()):
                raise ValueError(f"unknown style {style!r}" if style not in stylizer.styles()
                                 else f"unknown style {blend_with!r}")
            if not 0 <= strength <= 1 or not 0 <= blend <= 1:
                raise ValueError("strength and blend must be between 0 and 1")
            if photo is not None and photo.filename:
                data = await photo.read(config.max_bytes + 1)
                name = photo.filename
            elif example_name in examples:
                assert config.photos is not None
                data, name = (config.photos / example_name).read_bytes(), example_name
            else:
                raise ValueError("choose a photo to upload, or an example photo")
            image = decode_upload(data, name, config)
            out, seconds = await stylizer.submit(image, {"style": style, "blend_with": blend_with, "blend": blend,
                                                         "strength": strength, "faces": faces, "color": color,
                                                         "zoom": zoom})
        except Busy as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"image": png_data_url(out), "width": out.shape[-1], "height": out.shape[-2],
                             "seconds": round(seconds, 3)})

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, config: ServeConfig | None = None) -> None:
    """Run the page with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("the web page needs FastAPI and uvicorn: pip install 'preserve[web]'") from None
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
