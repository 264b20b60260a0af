"""Training a style network (``--network``: johnson by default, or the multi-style ``fast``) against a recipe
of preservation plugins.

:class:`Trainer` keeps the loop (data, forward, recipe, backward, step); a
run lives in one folder, whose layout and writes belong to
:class:`~preserve.rundir.RunDir` (checkpoints, metrics.jsonl, previews,
losses.png, model.pt).

``resume=True`` continues from ``checkpoints/last.pt`` with the same
optimiser state and data order, so N steps then N more equals 2N straight.
Ctrl-C, or SIGTERM (a job scheduler's stop, ``kill``), writes a checkpoint before stopping.
A step whose loss spikes is not taken: :class:`~preserve.guard.SpikeGuard` rolls the run back
(``spike_factor``).

``init=CHECKPOINT`` starts a new run as a branch of another: model, optimiser
and step come from that run's checkpoint and training goes on with this run's
recipe. With the same data, batch and seed, the branch sees exactly the batches
the other run saw after that step, so the two differ only in their recipes
(this is how the face-preserving reference models are compared with the plain ones).
``ema=DECAY`` keeps an exponential moving average of the weights beside them
(:class:`torch.optim.swa_utils.AveragedModel`); ``model.pt``, the previews and
a checkpoint opened as a model are the average. A multi-style network trains
its styles in turn, so its last weights lean towards the last styles it
trained; the average over many turns does not.
``init=MODEL.pt`` (a model file, not a checkpoint) warm-starts instead: the
weights only, from step 0 with a fresh optimiser. A one-style model warm-starts
a multi-style network of the same shape (``johnson`` -> ``johnson-multi``):
its normalisation's scale and shift become every style's starting point.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import math
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from . import distributed
from .data import Batch, EpochSampler, ImageFolder, collate
from .guard import SpikeGuard
from .imageio import load_image, resize
from .registry import NETWORKS
from .recipe import Recipe, RecipeOutput, default_recipe, resolve_recipe  # noqa: F401 - re-exported
from .models.io import MODEL_FORMAT, non_finite, save_model
from .models.styled import ConditionalInstanceNorm
from .rundir import MetricsWindow, RunDir

CHECKPOINT_FORMAT = "preserve.checkpoint/1"


@dataclass
class TrainConfig:
    """Everything a training run needs; saved to ``config.json`` and in every checkpoint."""

    data: list[str]
    out: str
    recipe: dict[str, Any] = field(default_factory=dict)
    image_size: int = 256
    image_sizes: list[int] | None = None  # [lo, hi]: multi-scale training, a crop size per batch in that range
    batch_size: int = 4
    epochs: int = 2
    steps: int | None = None
    lr: float = 1e-3
    norm_lr: float | None = None  # learning rate of the normalisation scales and shifts (None: lr)
    seed: int = 0
    bf16: bool | None = None  # None: on where the CPU supports it
    channels_last: bool = True
    compile: bool = False  # torch.compile the style network: ~15% faster steps after ~45 s of compiling
    network: str = "johnson"  # a registered style network (preserve plugins --kind networks)
    width: int = 32
    flip: bool = True
    workers: int = 1
    log_every: int = 10
    checkpoint_every: int = 100
    keep_every: int | None = None  # also keep checkpoints/step-N.pt every N steps
    init: str | None = None  # branch from a run's checkpoint (model, optimiser, step), or warm-start from a model
    preview_every: int = 100
    preview_images: list[str] = field(default_factory=list)
    tensorboard: bool = False  # also write TensorBoard events (needs the tensorboard package)
    progress: bool = True
    deterministic: bool = False
    spike_factor: float = 10.0  # a step whose loss is this many times its style's recent median rolls back; 0: off
    creep_factor: float = 2.0  # losses whose recent median is this many times their baseline roll back; 0: off
    ema: float | None = None  # decay of a moving average of the weights, which model.pt then holds; None: off

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Trainer:
    """Runs, logs, checkpoints and resumes one training run (see the module docstring)."""

    def __init__(self, config: TrainConfig, *, device: str | torch.device = "auto", resume: bool = False,
                 overwrite: bool = False, recipe: Recipe | None = None) -> None:
        """``recipe`` overrides ``config.recipe`` with a recipe built in Python (for terms with callables,
        which a config file cannot hold); ``config.recipe`` is still what the run folder records.
        ``device``: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; under
        torchrun a bare ``cuda`` is the GPU of the process's LOCAL_RANK."""
        self.config = config
        self.device = distributed.resolve_device(device)
        self.out = Path(config.out)
        self.ckpt_path = RunDir(self.out).checkpoint
        self.resume = resume
        if resume and not self.ckpt_path.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {self.ckpt_path}")
        if config.steps is not None and config.steps < 1:
            raise ValueError(f"--steps must be at least 1, got {config.steps}")
        for option in ("log_every", "checkpoint_every", "preview_every", "keep_every"):
            if (getattr(config, option) or 0) < 0:
                raise ValueError(f"--{option.replace('_', '-')} must be 0 (never) or a positive step count")
        if not config.spike_factor >= 0:
            raise ValueError(f"--spike-factor must be 0 (no guard) or a positive factor, got {config.spike_factor}")
        if not (config.creep_factor == 0 or config.creep_factor > 1):
            raise ValueError(f"--creep-factor must be 0 (not watched) or above 1, got {config.creep_factor}")
        if config.ema is not None and not 0 < config.ema < 1:
            raise ValueError(f"--ema must be a decay between 0 and 1 (such as 0.995), got {config.ema}")
        if config.steps is None and config.epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {config.epochs}")
        for folder in (self.out, *self.out.parents):
            if folder.exists() and not folder.is_dir():
                raise FileExistsError(f"--out {self.out}: {folder} is a file; --out must be a folder (the run folder)")
        if not resume and not overwrite and self.ckpt_path.is_file():
            raise FileExistsError(
                f"{self.out} already holds a run (checkpoints/last.pt). Continue it with --resume, "
                "start over with --overwrite, or choose another --out"
            )
        if resume:
            saved = read_checkpoint(self.ckpt_path, "--resume")
            _check_resumable(config, json.loads(saved["config"]))
            self._saved: dict[str, Any] | None = saved
        elif config.init:
            self._saved = load_branch_point(config)
        else:
            self._saved = None
        self.dist = distributed.setup(self.device)
        if config.batch_size % self.dist.world_size:
            raise ValueError(f"--batch-size {config.batch_size} (the global batch) must divide evenly over "
                             f"{self.dist.world_size} processes")
        self.local_batch = config.batch_size // self.dist.world_size
        self.use_bf16 = distributed.bf16_supported(self.device) if config.bf16 is None else config.bf16
        if config.deterministic:
            torch.use_deterministic_algorithms(True)  # process-wide, as torch defines it
        torch.manual_seed(config.seed)
        self.recipe = (recipe if recipe is not None else Recipe.from_dict(config.recipe)).to(self.device)
        self.style_names = self.recipe.style_names()  # one name per style the network learns (several: multi-style)
        self.model = build_network(config.network, config.width, self.style_names).to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.recipe.encoder.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(parameter_groups(self.model, config), lr=config.lr)
        self.guard = (SpikeGuard(factor=config.spike_factor, creep_factor=config.creep_factor)
                      if config.spike_factor or config.creep_factor else None)
        self.dataset = ImageFolder(config.data, config.image_size, seed=config.seed, flip=config.flip)
        if self.recipe.needs.inputs:  # e.g. face detections: computed once per file, cached, carried through crops
            for turn in (True, False):  # the main process fills the cache first; the others then read it
                if self.dist.is_main == turn:
                    self.dataset.annotations = self.recipe.annotate(
                        [str(f) for f in self.dataset.files], roots=config.data,
                        progress=config.progress and self.dist.is_main)
                distributed.barrier(self.dist)
        probe = EpochSampler(len(self.dataset), self.local_batch, config.seed, 0, num_replicas=self.dist.world_size)
        self.batches_per_epoch = probe.batches_per_epoch()
        self.total_steps = config.steps if config.steps is not None else config.epochs * self.batches_per_epoch
        self.step = 0
        self.skipped: dict[str, str] = {}
        if self._saved is not None:
            self.model.load_state_dict(fit_weights(self.model.state_dict(), self._saved["model"], config.init))
            if "optimizer" in self._saved:  # a warm start from a model file has none
                self.optimizer.load_state_dict(self._saved["optimizer"])
            self.step = int(self._saved["step"])
            self.skipped = json.loads(self._saved.get("skipped", "{}"))
            if self.guard is not None and resume:  # rollbacks count across resumes towards the guard's limit
                self.guard.events = json.loads(self._saved.get("rollbacks", "[]"))
                # each style's baseline too, so a creep under way when the run stopped is still seen
                self.guard.baselines = {int(k): v for k, v in json.loads(self._saved.get("loss_baselines", "{}")).items()}
            if config.init and not resume and self.step >= self.total_steps:
                raise ValueError(f"the run is already at step {self.step}; ask for more --steps than that")
        self.ema = self._averaged(self._saved if resume else None)
        forward: torch.nn.Module = self.model
        if self.dist.enabled:  # built after loading: DDP starts every process from rank 0's weights
            ids = [self.device.index] if self.device.type == "cuda" else None
            forward = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self._forward = torch.compile(forward) if config.compile else forward
        self._previews = self._load_previews()
        self.run = RunDir(self.out, main=self.dist.is_main)

    # -- public --------------------------------------------------------------
    def fit(self, callback: Callable[[int, RecipeOutput], None] | None = None) -> Path:
        """Train to ``total_steps``; returns the path of the final model.

        With several processes all of them train; the run folder writes only on the main one.
        """
        # -- open the run folder: lock it, record the config, trim the log after a resume ------------------
        self.run.open(self.config.to_json(), self.step, self.config.tensorboard, device=str(self.device))
        try:
            # -- train, log, preview and checkpoint, one step per batch ---------------------------------------
            try:
                self._loop(callback)
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: keep what was computed, then stop
                if self.run.save_checkpoint(self._state()) is not None:
                    print(f"\ninterrupted at step {self.step}; checkpoint written. Resume with --resume --out "
                          f"{self.out}", file=sys.stderr)
                raise
            # -- finish: last checkpoint, preview, loss curves, the model file ---------------------------------
            self.run.save_checkpoint(self._state())
            self.save_preview()
            self.run.finish(self.skipped)
            if self.dist.is_main:
                save_model(self.final_model(), self.run.model, recipe=self.config.recipe, steps=self.step,
                           image_size=self.config.image_size)
        finally:
            self.run.close()  # after the final preview, so it lands in the same TensorBoard event file
        distributed.barrier(self.dist)
        return self.run.model

    def _loop(self, callback: Callable[[int, RecipeOutput], None] | None) -> None:
        config, window = self.config, MetricsWindow()
        bar = self._progress_bar() if self.dist.is_main else None
        restore_sigterm = _sigterm_as_interrupt()
        try:
            for batch in self._batches():
                style = self.style_at(self.step)
                result = self.train_step(batch.images, batch.inputs, style)
                self.step += 1
                logged = {"total": float(result.total.detach()), **result.means(), **result.stats}
                terms = set(result.terms) | {"total"}  # set with the window, which an interrupt may log
                if len(self.style_names) > 1:  # each term per style too: 'style@the_scream'
                    logged.update({f"{k}@{self.style_names[style]}": v for k, v in result.means().items()})
                window.add(distributed.mean_across(self.dist, logged), len(batch) * self.dist.world_size)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in {**result.means(), **result.stats}.items()},
                                    refresh=False)
                if callback is not None:
                    callback(self.step, result)
                if _every(self.step, config.log_every) or self.step == self.total_steps:
                    self.run.log(self.step, self._record(window), terms)
                if _every(self.step, config.preview_every):
                    self.save_preview()
                if _every(self.step, config.checkpoint_every) and self.step < self.total_steps:
                    self.run.save_checkpoint(self._state())
                if _every(self.step, config.keep_every):
                    self.run.keep_checkpoint(self._state(), self.step)
        except KeyboardInterrupt:
            if window.values:  # the checkpoint fit() now writes holds these steps: log them too
                self.run.log(self.step, self._record(window), terms)
            raise
        finally:
            restore_sigterm()
            if bar is not None:
                bar.close()

    def _record(self, window: MetricsWindow) -> dict[str, Any]:
        """One metrics.jsonl line: the window's means and speed, the epoch, skipped files and rollbacks."""
        return {"epoch": self.step / max(1, self.batches_per_epoch), **window.summary(),
                "skipped_images": len(self.skipped),
                "rollbacks": len(self.guard.events) if self.guard is not None else 0}

    def train_step(self, images: torch.Tensor, inputs: Mapping[str, Any] | None = None,
                   style: int = 0) -> RecipeOutput:
        """One optimisation step on a batch, every image painted in style number ``style``."""
        self.model.train()
        x = images.to(self.device, non_blocking=True)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        index = torch.full((x.shape[0],), style, dtype=torch.long, device=self.device)
        with self.autocast():
            stylized = self._paint(self._forward, x, index)
            # Plugins that run the network again (stability) call the bare module: a second call of the
            # DDP wrapper before backward would prepare its gradient reduction twice.
            again = (lambda z: self._paint(self.model, z, index)) if self.recipe.needs.network else None
            result = self.recipe(stylized, x, inputs, style=index, network=again)
        # Checked before the step (and in every process together), so the weights never take a NaN step
        # and no checkpoint of them is ever written.
        loss = float(result.total.detach())
        if not distributed.all_true(self.dist, math.isfinite(loss)):
            bad = {k: v for k, v in result.means().items() if not math.isfinite(v)}
            raise FloatingPointError(
                f"the loss became non-finite at step {self.step + 1} (terms: {bad or 'in another process'}); "
                f"the weights are kept from step {self.step}. Lower --lr or the recipe's weights"
            )
        reason = self.guard.check(style, loss) if self.guard is not None else None
        if self.guard is not None and not distributed.all_true(self.dist, reason is None):
            event = self.guard.roll_back(self.step, loss, self.model, self.optimizer, reason or "spike")
            what = "spiked" if event["reason"] == "spike" else "crept up over its baseline"
            print(f"preserve: the loss {what} at step {event['step']} ({loss:.4g}); rolled back to the weights of "
                  f"step {event['restored_step']}, learning rates halved to {event['lr']}", file=sys.stderr)
            if self.ema is not None:  # the average holds the weights rolled away from: start it again here
                self.ema.n_averaged.zero_()
                self.ema.update_parameters(self.model)
            return result
        self.optimizer.zero_grad(set_to_none=True)
        result.total.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        if self.guard is not None:
            self.guard.accept(style, loss, self.step + 1, self.model, self.optimizer)
        return result

    def style_at(self, step: int) -> int:
        """The style a step trains: the styles in turn, so every style gets the same share of the batches and a
        resumed run continues the order (the batch of step ``n`` always gets style ``n mod S``)."""
        return step % len(self.style_names)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16)

    # -- data ----------------------------------------------------------------
    def _batches(self) -> Iterator[Batch]:
        while self.step < self.total_steps:
            epoch, start = divmod(self.step, self.batches_per_epoch)
            sizes = tuple(self.config.image_sizes) if self.config.image_sizes else None
            sampler = EpochSampler(len(self.dataset), self.local_batch, self.config.seed, epoch, start,
                                   rank=self.dist.rank, num_replicas=self.dist.world_size, sizes=sizes)
            loader = DataLoader(
                self.dataset, batch_size=self.local_batch, sampler=sampler, collate_fn=collate,
                num_workers=self.config.workers, persistent_workers=False, pin_memory=self.device.type == "cuda",
                prefetch_factor=2 if self.config.workers > 0 else None, worker_init_fn=_leave_stopping_to_the_trainer,
            )
            for batch in loader:
                for b in batch.broken:
                    if b.path not in self.skipped:
                        self.skipped[b.path] = b.error
                        print(f"preserve: skipping unreadable image {b.path}: {b.error}", file=sys.stderr)
                if not distributed.all_true(self.dist, batch.images is not None):
                    # Only broken files (here or in another process's share): count the step and move on
                    # together, so the data position and the processes stay in step.
                    self.step += 1
                    if self.step >= self.total_steps:
                        return
                    continue
                yield batch
                if self.step >= self.total_steps:
                    return

    # -- outputs -------------------------------------------------------------
    def _load_previews(self) -> torch.Tensor | None:
        paths = self.config.preview_images or [str(p) for p in self.dataset.files[:4]]
        images = []
        for p in paths:
            try:
                img = load_image(p, max_side=2 * self.config.image_size).rgb  # a huge photo decodes reduced
            except OSError:
                continue
            images.append(resize(img, (self.config.image_size, self.config.image_size)))
        return torch.stack(images) if images else None

    @torch.no_grad()
    def save_preview(self) -> Path | None:
        """Stylize the preview images with the current network into ``previews/step_N.png``."""
        if self._previews is None or not self.dist.is_main:
            return None
        model = self.final_model()
        model.eval()
        x = self._previews.to(self.device)
        with self.autocast():
            rows = [self._paint(model, x, torch.full((x.shape[0],), s, device=self.device)).float()
                    .clamp(0, 1).cpu() for s in range(len(self.style_names))]
        return self.run.save_preview(self.step, self._previews, rows, self.style_names)

    def final_model(self) -> torch.nn.Module:
        """The network ``model.pt`` gets: the moving average of the weights with ``ema``, else the weights."""
        return self.ema.module if self.ema is not None else self.model

    def _averaged(self, saved: Mapping[str, Any] | None) -> AveragedModel | None:
        """The moving average of the weights (``config.ema``), continued from a resumed checkpoint's, or
        started at the current weights (a new run, a branch, or a run that turns ``--ema`` on when resumed)."""
        if self.config.ema is None:
            return None
        ema = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema), use_buffers=True)
        if saved is not None and "ema" in saved:
            ema.module.load_state_dict(saved["ema"])
            ema.n_averaged.fill_(int(saved["ema_steps"]))
        return ema

    def _paint(self, net: Callable[..., torch.Tensor], x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``net`` on ``x``, image ``i`` painted in style ``index[i]`` (a one-style network takes no style)."""
        if len(self.style_names) == 1:
            return net(x)
        return net(x, style=F.one_hot(index, len(self.style_names)).float())

    def _state(self) -> dict[str, Any]:
        """A training checkpoint: model, optimiser, step, the config and the skipped files."""
        return {
            "format": CHECKPOINT_FORMAT,
            "network": self.config.network,
            "network_config": json.dumps(self.model.config()),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "config": json.dumps(self.config.to_json()),
            "skipped": json.dumps(self.skipped),
            "rollbacks": json.dumps(self.guard.events if self.guard is not None else []),
            "loss_baselines": json.dumps(self.guard.baselines if self.guard is not None else {}),
            **({"ema": self.ema.module.state_dict(), "ema_steps": int(self.ema.n_averaged)}
               if self.ema is not None else {}),
        }

    def _progress_bar(self) -> Any:
        if not self.config.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.total_steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)


def holds_styles(network: str) -> bool:
    """Whether a registered network holds several styles (it takes ``num_styles``)."""
    return "num_styles" in inspect.signature(NETWORKS.get(network)).parameters


def parameter_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """The optimiser's parameter groups: the normalisation scales and shifts (in a multi-style network, each
    style's own parameters) at ``norm_lr``, the rest at ``lr``. One group when ``norm_lr`` is unset.

    A warm-started network keeps what its convolutions learnt under a small ``lr`` while a larger
    ``norm_lr`` moves each style's scale and shift, which is where conditional instance norm keeps a style
    (Dumoulin et al. adapt a trained network to a new style by these parameters alone)."""
    if config.norm_lr is None:
        return [{"params": list(model.parameters())}]
    norms = (ConditionalInstanceNorm, torch.nn.InstanceNorm2d, torch.nn.BatchNorm2d, torch.nn.GroupNorm,
             torch.nn.LayerNorm)
    norm_params = {id(p) for m in model.modules() if isinstance(m, norms) for p in m.parameters(recurse=False)}
    rest = [p for p in model.parameters() if id(p) not in norm_params]
    norm = [p for p in model.parameters() if id(p) in norm_params]
    return [{"params": rest}, {"params": norm, "lr": config.norm_lr}]


def build_network(name: str, width: int, style_names: list[str]) -> torch.nn.Module:
    """A registered style network for ``style_names`` (one name: a one-style network).

    A network that takes ``num_styles`` holds every style; one that does not (``johnson``) holds one,
    so several style images can only train it as a blend.
    """
    cls = NETWORKS.get(name)
    if holds_styles(name):
        return cls(num_styles=len(style_names), width=width, style_names=style_names)
    if len(style_names) > 1:
        raise ValueError(f"network {name!r} holds one style; train {len(style_names)} styles with a multi-style "
                         "network (--network fast), or blend them into one with the style term's 'blend'")
    return cls(width=width)


def _leave_stopping_to_the_trainer(worker_id: int) -> None:
    """Data-loading workers ignore SIGTERM. ``pkill -f 'preserve train'`` or a scheduler signalling the whole
    process group reaches the workers too, and a signalled worker made the trainer fail with "DataLoader
    worker is killed" instead of writing its checkpoint. The trainer stops its workers itself; one whose
    trainer is gone exits on its own (PyTorch's worker watchdog)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Let SIGTERM stop training the way Ctrl-C does (checkpoint, then exit); returns the undo.

    Background jobs ignore SIGINT, so ``kill`` (SIGTERM) is how a scheduler or a user stops them.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


_RESUME_MUST_MATCH = ("recipe", "image_size", "image_sizes", "batch_size", "seed", "network", "width", "flip", "data",
                      "norm_lr")


def _differences(new: TrainConfig, saved: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The settings among ``keys`` where a checkpoint's config and this run's differ, as one line ('' if none)."""
    current = new.to_json()
    return "; ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {current.get(k)!r}"
                     for k in keys if current.get(k) != saved.get(k))


def _check_resumable(new: TrainConfig, saved: Mapping[str, Any]) -> None:
    detail = _differences(new, saved, _RESUME_MUST_MATCH)
    if detail:
        raise ValueError(f"cannot resume with different settings ({detail})")


_BRANCH_MUST_MATCH = ("network", "width")


class CheckpointError(ValueError):
    """A file that is not a readable preserve training checkpoint."""


def read_checkpoint(path: Path, option: str, *, model_files: bool = False) -> dict[str, Any]:
    """A training checkpoint, loaded safely (``weights_only``: pickled code never runs) and checked.

    With ``model_files`` a model file (``model.pt``) is accepted too, as a warm start: its weights under
    ``model``, step 0, and no optimiser state or run config."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, pickle payload, wrong file: all 'not a checkpoint'
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise CheckpointError(f"{option}: {path} is not a readable preserve checkpoint "
                              f"({type(exc).__name__}{': ' + reason if reason else ''})") from None
    if model_files and isinstance(saved, dict) and saved.get("format") == MODEL_FORMAT:
        saved = {"model": saved["state_dict"], "step": 0}
    elif not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{option}: {path} is not a preserve training checkpoint (checkpoints/*.pt of a run)")
    bad = non_finite(saved["model"]) + non_finite(saved.get("ema", {}))
    if bad:
        raise CheckpointError(f"{option}: {path} holds non-finite weights ({bad[0]}, ...)")
    return saved


def load_branch_point(config: TrainConfig) -> dict[str, Any]:
    """The checkpoint ``config.init`` names, checked to fit this run's network; or, for a model file, its
    weights as a warm start (step 0, no optimiser state)."""
    path = Path(config.init or "")
    if not path.is_file():
        raise FileNotFoundError(f"--init: no checkpoint at {path}")
    saved = read_checkpoint(path, "--init", model_files=True)
    if "config" not in saved:  # a model file: fit_weights checks its shapes against the network
        return saved
    detail = _differences(config, json.loads(saved["config"]), _BRANCH_MUST_MATCH)
    if detail:
        raise ValueError(f"--init: the checkpoint's network differs ({detail})")
    return saved


def fit_weights(target: Mapping[str, torch.Tensor], source: Mapping[str, torch.Tensor],
                origin: str | None) -> dict[str, torch.Tensor]:
    """``source`` weights shaped for a network whose state is ``target``: same names; a one-style norm's
    ``(C,)`` scale or shift is copied to every style's row of a ``(S, C)`` one. Anything else that differs
    is an error naming the first mismatch."""
    if set(target) != set(source):
        missing, extra = sorted(set(target) - set(source)), sorted(set(source) - set(target))
        raise ValueError(f"--init: {origin} does not fit this network (missing {missing[:3]}, unexpected "
                         f"{extra[:3]}); warm-start from a model of the same architecture and width")
    fitted = {}
    for name, want in target.items():
        have = source[name]
        if have.shape != want.shape:
            if have.dim() == 1 and want.dim() == 2 and want.shape[1:] == have.shape:
                have = have.expand_as(want)
            else:
                raise ValueError(f"--init: {origin}: {name} is {tuple(have.shape)}, this network's is "
                                 f"{tuple(want.shape)}; warm-start from a model of the same architecture and width")
        fitted[name] = have.to(want.dtype)
    return fitted


def _every(step: int, interval: int | None) -> bool:
    """Whether an ``interval``-step event falls on ``step``; an interval of 0 or None means never."""
    return bool(interval) and step % interval == 0


def load_config(out: str | os.PathLike[str]) -> TrainConfig:
    """The configuration a run in ``out`` was started with (to resume it as it was)."""
    data = json.loads((Path(out) / "config.json").read_text())
    return TrainConfig(**data)


def build_config(
    data: str | os.PathLike[str] | list[str] | None,
    out: str | os.PathLike[str],
    *,
    style: str | list[str] | None = None,
    recipe: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    weights: Mapping[str, float | None] | None = None,
    style_weights: Mapping[str, float] | None = None,
    weight_per_style: Mapping[str, Mapping[str, float]] | None = None,
    resume: bool = False,
    **options: Any,
) -> TrainConfig:
    """The :class:`TrainConfig` for a new run, or for resuming the run in ``out``.

    Resuming with no data, style or recipe given takes the run's own
    ``config.json``; ``options`` may then change only what does not break
    the run (more ``steps``, logging intervals, workers). ``style_weights``
    (``{style name: weight}``) sets the style term's per-style weights of a
    multi-style network; ``weight_per_style`` (``{term: {style name: factor}}``)
    multiplies any term's weight for the images of the named styles.
    """
    if resume and (Path(out) / "config.json").is_file() and not (data or style or recipe):
        if any(v is not None for v in (weights or {}).values()) or style_weights or weight_per_style:
            raise ValueError("weights cannot change when resuming a run")
        config = load_config(out)
        config.out = str(out)  # where the run is now: a run folder moved or copied resumes in its new place
        for k, v in options.items():
            setattr(config, k, v)
        return config
    if not data:
        raise ValueError("training needs --data (or --resume with an existing run folder)")
    if recipe is None and not style:
        raise ValueError("give a style image (--style IMAGE) for the default recipe, or a recipe (--recipe FILE)")
    recipe_dict = resolve_recipe(recipe, style, weights)
    term = recipe_dict.get("style")
    if holds_styles(options.get("network", "johnson")) and isinstance(term, dict) \
            and isinstance(term.get("image"), list) and len(term["image"]) > 1:
        term.setdefault("per_style", True)  # a multi-style network learns each image as its own style
    if style_weights:
        if not isinstance(term, dict):
            raise ValueError("per-style weights need a 'style' term in the recipe")
        given = term.get("style_weights") or {}
        if not isinstance(given, Mapping):  # a list is one weight per image, in order: it has no names to merge by
            raise ValueError("the recipe gives 'style_weights' as a list (one per style image); give them by name "
                             "({style name: weight}) in the recipe to combine them with per-style weights by name "
                             "(--style-weights NAME=W)")
        term["style_weights"] = {**given, **{k: float(v) for k, v in style_weights.items()}}
    for name, factors in (weight_per_style or {}).items():
        entry = recipe_dict.get(name)
        if not isinstance(entry, dict):
            raise ValueError(f"per-style factors for {name!r}, but the recipe has no term {name!r} "
                             f"(its terms: {', '.join(k for k in recipe_dict if k != 'encoder')})")
        entry["weight_per_style"] = {**entry.get("weight_per_style", {}), **{k: float(v) for k, v in factors.items()}}
    data_list = [str(Path(d).resolve()) for d in ([data] if isinstance(data, (str, os.PathLike)) else data)]
    if options.get("init"):
        options["init"] = str(Path(options["init"]).resolve())
    return TrainConfig(data=data_list, out=str(out), recipe=recipe_dict, **options)


def train(
    data: str | os.PathLike[str] | list[str] | None,
    out: str | os.PathLike[str],
    *,
    style: str | list[str] | None = None,
    recipe: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    weights: Mapping[str, float | None] | None = None,
    style_weights: Mapping[str, float] | None = None,
    weight_per_style: Mapping[str, Mapping[str, float]] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str = "auto",
    **options: Any,
) -> Path:
    """Train a style network and return the path of ``model.pt``.

    ``recipe`` is a recipe file or mapping; without one the default recipe is
    used with ``style``. With a recipe, ``style`` (if given) replaces the
    style term's image, and ``weights`` override term weights in both cases.
    ``style_weights`` (``{style name: weight}``) weighs the styles of a
    multi-style network against each other; ``weight_per_style``
    (``{term: {style name: factor}}``) multiplies any term's weight for the
    images of the named styles. Other keyword arguments are :class:`TrainConfig`
    fields.
    """
    config = build_config(data, out, style=style, recipe=recipe, weights=weights, style_weights=style_weights,
                          weight_per_style=weight_per_style, resume=resume, **options)
    return Trainer(config, device=device, resume=resume, overwrite=overwrite).fit()
