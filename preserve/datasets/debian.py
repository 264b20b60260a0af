"""Pinned Debian packages as a source of real images, fetched with ``apt-get download`` and never installed.

A :class:`DebianPackage` names a package, its exact version and the sha256 of its ``.deb``. :func:`unpack`
returns a folder holding the package's files, trying the cache (``$PRESERVE_HOME/debian``) first and
otherwise downloading the ``.deb`` (apt verifies the archive's signature; we check the pinned hash too) and
unpacking it with ``dpkg-deb -x``. Nothing runs the package's scripts.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..atomic import file_lock
from ..weights import WeightsUnavailableError, home, sha256sum


@dataclass(frozen=True)
class DebianPackage:
    name: str
    version: str
    sha256: str
    licence: str

    @property
    def requirement(self) -> str:
        return f"{self.name}={self.version}"


GCOMPRIS = DebianPackage("gcompris-qt-data", "3.1-2",
                         "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f",
                         "per file: public domain, CC0, CC-BY, CC-BY-SA, GPL-3.0+ (README in each activity)")
OPENCV_DOC = DebianPackage("opencv-doc", "4.6.0+dfsg-12",
                           "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
                           "Apache-2.0/BSD-3-Clause blanket; per-image provenance not documented")
DARKNET = DebianPackage("darknet", "0.0.0+git20180914.61c9d02e-2+b4",
                        "9ca14d36112d242a782bfed4104fa5adcd2ae8bc599ab610f42eb609ee125a01",
                        "GPL-3.0+ or MIT or WTFPL, at the user's choice")


def package_dir(package: DebianPackage) -> Path:
    return home() / "debian" / f"{package.name}_{package.version}"


def unpack(package: DebianPackage) -> Path:
    """The root of the unpacked package (its ``usr/...`` tree), fetched and unpacked on first use."""
    target = package_dir(package)
    done = target / ".complete"
    if done.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f"{target.name}.lock"):
        if done.is_file():
            return target
        for tool in ("apt-get", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise WeightsUnavailableError(
                    f"{package.name}: fetching Debian packages needs `{tool}`, which this machine lacks. "
                    f"On a Debian machine run `apt-get download {package.requirement}` and unpack it with "
                    f"`dpkg-deb -x`, then copy the tree to {target} and create {done.name} there")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            fetched = subprocess.run(["apt-get", "download", package.requirement], cwd=tmp,
                                     capture_output=True, text=True)
            debs = list(Path(tmp).glob("*.deb"))
            if fetched.returncode != 0 or len(debs) != 1:
                raise WeightsUnavailableError(f"apt-get download {package.requirement} failed: "
                                              f"{(fetched.stderr or fetched.stdout).strip()[-400:]}")
            digest = sha256sum(debs[0])
            if digest != package.sha256:
                raise WeightsUnavailableError(f"{debs[0].name}: sha256 {digest} is not the pinned "
                                              f"{package.sha256}; refusing to use it")
            tree = Path(tmp) / "tree"
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tree)], check=True, capture_output=True)
            if target.exists():
                shutil.rmtree(target)
            tree.rename(target)
        done.write_text(package.sha256 + "\n")
    return target
