"""The run folder of a training run, and the window of numbers between two log lines.

:class:`RunDir` owns the folder's layout and every write to it (the way timm's
training script hands checkpoints to a ``CheckpointSaver`` and logs to
``update_summary``); the :class:`~preserve.train.Trainer` keeps the loop.
Off the main process of a distributed run every write is a no-op, so the
loop never asks which process it is on::

    RUN_DIR/.lock                the lock a running training holds (a second one into this folder refuses)
    RUN_DIR/config.json          the settings and the recipe, as given
    RUN_DIR/metrics.jsonl        one line per logged step: total, each term, speed
    RUN_DIR/sessions.jsonl       one line per start or resume: the step, the time, the machine and device
    RUN_DIR/losses.png           those curves, drawn at the end of the run
    RUN_DIR/previews/*.png       the preview images stylized every N steps
    RUN_DIR/checkpoints/last.pt  model + optimiser + position in the data (atomic)
    RUN_DIR/checkpoints/step-N.pt  kept copies every ``keep_every`` steps (to branch runs from)
    RUN_DIR/skipped.json         unreadable files, with the reason
    RUN_DIR/tensorboard/         with ``--tensorboard``
    RUN_DIR/model.pt             the final model (loads with weights_only=True)
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import torch

from .atomic import FolderLock, atomic_torch_save, atomic_write_text
from .machine import describe
from .plots import plot_losses
from .visual import save_grid


class MetricsWindow:
    """Numbers of the steps since the last log line: their means, images per second, seconds per step."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.values: dict[str, list[float]] = {}
        self.images = 0
        self.started = time.perf_counter()

    def add(self, values: Mapping[str, float], images: int) -> None:
        for k, v in values.items():
            self.values.setdefault(k, []).append(v)
        self.images += images

    def summary(self) -> dict[str, Any]:
        """The window as log fields (means of every value, images/s, s/step); then the window starts again."""
        elapsed = time.perf_counter() - self.started
        steps = max(1, len(self.values.get("total", [1])))
        record: dict[str, Any] = {k: sum(v) / len(v) for k, v in self.values.items()}
        record["images_per_s"] = self.images / elapsed if elapsed > 0 else None
        record["s_per_step"] = elapsed / steps
        self.reset()
        return record


class RunDir:
    """One run folder; see the module docstring. ``main=False`` (other processes of a distributed run) makes
    every write a no-op."""

    def __init__(self, path: str | Path, main: bool = True) -> None:
        self.path = Path(path)
        self.main = main
        self.checkpoint = self.path / "checkpoints" / "last.pt"
        self.metrics = self.path / "metrics.jsonl"
        self.sessions = self.path / "sessions.jsonl"
        self.model = self.path / "model.pt"
        self._lock: FolderLock | None = None
        self._tb: Any = None

    # -- lifetime ---------------------------------------------------------------
    def open(self, config: Mapping[str, Any], step: int, tensorboard: bool, device: str = "cpu") -> "RunDir":
        """Lock the folder, record the config and this session (step, time, machine, ``device``), drop log lines
        past ``step`` (after a resume), open TensorBoard."""
        if not self.main:
            return self
        self._lock = FolderLock(self.path).acquire()
        atomic_write_text(self.path / "config.json", json.dumps(dict(config), indent=2))
        self._trim_metrics(step)
        session = {"step": step, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "machine": describe(), "device": device}
        with open(self.sessions, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(session) + "\n")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.close()
                raise ImportError("--tensorboard needs the tensorboard package: "
                                  "pip install 'preserve[tensorboard]'") from None
            self._tb = SummaryWriter(str(self.path / "tensorboard"), purge_step=step or None)
        return self

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- writes -----------------------------------------------------------------
    def log(self, step: int, record: Mapping[str, Any], terms: set[str]) -> None:
        """Append one line to metrics.jsonl (and TensorBoard: ``loss/<term>`` for the terms, the rest plain)."""
        if not self.main:
            return
        line = {"step": step, **record}
        with open(self.metrics, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        if self._tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)):
                    self._tb.add_scalar(f"loss/{k}" if k in terms else k, v, step)

    def save_checkpoint(self, state: Mapping[str, Any], path: Path | None = None) -> Path | None:
        if not self.main:
            return None
        return atomic_torch_save(dict(state), path or self.checkpoint)

    def keep_checkpoint(self, state: Mapping[str, Any], step: int) -> Path | None:
        """A kept copy, ``checkpoints/step-N.pt``, to branch runs from."""
        return self.save_checkpoint(state, self.checkpoint.with_name(f"step-{step}.pt"))

    def save_preview(self, step: int, content: torch.Tensor, stylized: list[torch.Tensor],
                     style_names: list[str]) -> Path | None:
        """The content images and one row of stylized images per style, as ``previews/step_N.png``."""
        if not self.main:
            return None
        path = self.path / "previews" / f"step_{step:07d}.png"
        labels = [f"step {step}"] if len(stylized) == 1 else [f"{n}\nstep {step}" for n in style_names]
        save_grid([list(content), *[list(s) for s in stylized]], path, row_labels=["content", *labels])
        if self._tb is not None:
            for name, images in zip(style_names, stylized):
                self._tb.add_images("preview" if len(stylized) == 1 else f"preview/{name}", images, step)
        return path

    def finish(self, skipped: Mapping[str, str]) -> None:
        """The end-of-run files: skipped.json (when files were skipped) and losses.png."""
        if not self.main:
            return
        if skipped:
            atomic_write_text(self.path / "skipped.json", json.dumps(dict(skipped), indent=2))
        if self.metrics.is_file():
            plot_losses(self.metrics, self.path / "losses.png")

    def _trim_metrics(self, step: int) -> None:
        """After a resume, drop log lines past the checkpoint so no step is logged twice."""
        if not self.metrics.is_file():
            return
        keep = [ln for ln in self.metrics.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        atomic_write_text(self.metrics, "".join(ln + "\n" for ln in keep))

    # -- reads ------------------------------------------------------------------
    def history(self) -> dict[str, Any]:
        """Steps and wall time of the run so far (the sum of logged step times), and how they split over the
        machines it ran on (``sessions.jsonl``; a run folder from before that file counts as one unknown machine):
        ``{"steps", "seconds", "machines": [{"machine", "device", "steps", "seconds"}, ...]}``."""
        records = _jsonl(self.metrics)
        sessions = _jsonl(self.sessions) or [{"step": 0, "machine": "unknown", "device": "unknown"}]
        machines: dict[tuple[str, str], dict[str, Any]] = {}
        previous = 0
        for r in records:
            # the steps of this record ran in the last session that started before its last step
            session = [s for s in sessions if s["step"] < r["step"]][-1:] or sessions[:1]
            key = (session[0]["machine"], session[0]["device"])
            share = machines.setdefault(key, {"machine": key[0], "device": key[1], "steps": 0, "seconds": 0.0})
            share["steps"] += r["step"] - previous
            share["seconds"] += r["s_per_step"] * (r["step"] - previous)
            previous = r["step"]
        return {"steps": previous, "seconds": sum(m["seconds"] for m in machines.values()),
                "machines": list(machines.values())}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []
