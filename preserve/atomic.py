"""Writing files so that readers never see half of one, and caches that several processes fill at once.

Every file the project writes for later reading (checkpoints, model files,
converted weights, face indexes, ONNX exports, images) goes through
:func:`atomic_write`: the content is written to a temporary file with a
*unique* name in the target's folder, then renamed over the target. Two
processes writing the same target at once therefore never share a temporary
file; the last rename wins, and both results are complete.

:func:`file_lock` serialises work that should happen once (converting a
weight file into the cache): the first process holds the lock and writes,
the others wait and then find the result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

try:  # POSIX; elsewhere the locks below are no-ops and the unique temporary names still keep files whole
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The mode ``open()`` gives a new file under this process's umask; mkstemp's own 0600 would leave every
#: stylized image, model and checkpoint unreadable to the user's group (a web server, a shared run folder).
_NEW_FILE_MODE = 0o666 & ~_umask()


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to fill a unique temporary file beside ``path``, then rename it to ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is left as it was. The file gets the
    permissions a plain ``open(path, "w")`` would give it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, _NEW_FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the duration of the block; waits for it."""
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class FolderBusyError(RuntimeError):
    """Another process holds a folder's lock (two trainings into one ``--out``)."""


class FolderLock:
    """An exclusive, non-blocking lock on a folder, naming the process that holds it.

    ``acquire`` raises :class:`FolderBusyError` (with the holder's PID) when
    another process holds it. The lock is released when the process exits,
    however it exits, because it is an ``flock`` on an open file.
    """

    NAME = ".lock"

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / self.NAME
        self._fh: Any = None

    def acquire(self) -> "FolderLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise FolderBusyError(f"{self.path.parent} is in use by a running training (pid {holder}); "
                                      "wait for it to finish, stop it, or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            if fcntl is not None:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
