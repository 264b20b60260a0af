"""A divergence guard for long training runs: roll a diverging run back instead of training through it.

Why: trained for thousands of steps (on a GPU), every multi-style zoo run diverged sooner or later. The loss
crept up to about twice its level over a few dozen steps, then one step's loss was hundreds to billions of times
its usual size, and the network fell into flat colour blobs it had not left thousands of steps later (Adam's
second moments, filled by the spike's gradients, keep every later step tiny). Nothing a run writes afterwards
is worth keeping; ``benchmarks/results/zoo_gpu_runs.json`` has the runs. On the CPU a run can also go bad
without any single spike: over a hundred steps every style's loss climbs to three or four times its level and
the network paints the same blobs into every style, which a per-step spike rule never sees, since the recent
median climbs with the loss.

:class:`SpikeGuard` watches for both:

- a *spike*: one step's loss over ``factor`` times the median of its style's recent losses;
- a *creep*: over the last ``window`` steps, the median of each step's loss over its style's baseline (the
  lowest median of that style's recent losses so far) above ``creep_factor``.

It keeps the last two in-memory snapshots of the weights and optimiser, one every ``snapshot_every`` accepted
steps, and only while the run is healthy (no creep under way), so a snapshot never holds a network that is
already going bad. A spike or a creep is not trained on: the weights and optimiser go back to the older
snapshot, and every learning rate is halved so the run does not climb into the same place again.
"""

from __future__ import annotations

import copy
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Snapshot:
    step: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]


@dataclass
class SpikeGuard:
    """Detects a step whose loss spikes, or a run whose losses creep up, and rolls it back to a snapshot.

    Args:
        factor: a step's loss above ``factor`` times the median of its style's last ``window`` losses is a spike.
        creep_factor: the median of the last ``window`` steps' loss-over-baseline ratios above this is a creep
            (0: only spikes are watched).
        window: losses remembered per style, and steps in the creep median; no step is a spike before half of
            a style's window is known, and no creep is seen before the whole creep window is.
        snapshot_every: accepted steps between snapshots.
        max_rollbacks: after this many rollbacks the next spike or creep stops the run with an error.
    """

    factor: float = 10.0
    creep_factor: float = 2.0
    window: int = 16
    snapshot_every: int = 50
    max_rollbacks: int = 8
    events: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[int, float] = field(default_factory=dict)
    _losses: dict[int, deque[float]] = field(default_factory=dict, repr=False)
    _ratios: deque[float] = field(default_factory=deque, repr=False)
    _snapshots: deque[Snapshot] = field(default_factory=lambda: deque(maxlen=2), repr=False)

    def __post_init__(self) -> None:
        self._ratios = deque(self._ratios, maxlen=self.window)

    def is_spike(self, style: int, loss: float) -> bool:
        recent = self._losses.get(style)
        if not self.factor or recent is None or len(recent) < max(1, self.window // 2):
            return False
        return loss > self.factor * statistics.median(recent)

    def is_creep(self, style: int, loss: float) -> bool:
        """Whether this step, with the ``window - 1`` before it, has a median loss-over-baseline ratio above
        ``creep_factor``."""
        if not self.creep_factor or style not in self.baselines:
            return False
        earlier = list(self._ratios)[-(self.window - 1):] if self.window > 1 else []
        ratios = [*earlier, loss / self.baselines[style]]
        return len(ratios) >= self.window and statistics.median(ratios) > self.creep_factor

    def check(self, style: int, loss: float) -> str | None:
        """``"spike"`` or ``"creep"`` when this step's loss says the run is diverging, else None."""
        if self.is_spike(style, loss):
            return "spike"
        return "creep" if self.is_creep(style, loss) else None

    def healthy(self) -> bool:
        """No creep under way: the recent ratios' median is at most halfway from 1 to ``creep_factor``."""
        if not self.creep_factor or len(self._ratios) < self.window // 2:
            return True
        return statistics.median(self._ratios) <= 1.0 + (self.creep_factor - 1.0) / 2

    def accept(self, style: int, loss: float, step: int, model: torch.nn.Module,
               optimizer: torch.optim.Optimizer) -> None:
        """Remember an accepted step's loss; ``step`` is the run's step count once this step is taken."""
        if style in self.baselines:
            self._ratios.append(loss / self.baselines[style])
        recent = self._losses.setdefault(style, deque(maxlen=self.window))
        recent.append(loss)
        if len(recent) >= max(1, self.window // 2):
            median = statistics.median(recent)
            self.baselines[style] = min(self.baselines.get(style, median), median)
        due = not self._snapshots or step - self._snapshots[-1].step >= self.snapshot_every
        if due and self.healthy():
            self._snapshots.append(Snapshot(step, {k: v.detach().clone() for k, v in model.state_dict().items()},
                                            copy.deepcopy(optimizer.state_dict())))

    def roll_back(self, step: int, loss: float, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer, reason: str = "spike") -> dict[str, Any]:
        """Restore the older snapshot, halve every learning rate; returns the event (also kept in ``events``).

        Raises :class:`FloatingPointError` when no snapshot exists yet or ``max_rollbacks`` is spent."""
        if not self._snapshots or len(self.events) >= self.max_rollbacks:
            what = (f"spiked at step {step + 1} ({loss:.4g}, over {self.factor:g} times its recent median)"
                    if reason == "spike" else
                    f"crept up to over {self.creep_factor:g} times its baseline by step {step + 1}")
            raise FloatingPointError(f"the loss {what} after {len(self.events)} rollbacks; "
                                     "lower --lr or the recipe's weights")
        snapshot = self._snapshots[0]
        model.load_state_dict(snapshot.model)
        optimizer.load_state_dict(copy.deepcopy(snapshot.optimizer))
        for group in optimizer.param_groups:
            group["lr"] *= 0.5
        self._snapshots.clear()
        self._snapshots.append(snapshot)
        self._losses.clear()  # the restored weights' losses are the new normal; the baselines stay
        self._ratios.clear()
        event = {"step": step + 1, "reason": reason, "loss": loss, "restored_step": snapshot.step,
                 "lr": [group["lr"] for group in optimizer.param_groups]}
        self.events.append(event)
        return event
