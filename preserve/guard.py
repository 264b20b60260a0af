"""A divergence guard for long training runs: roll back a loss spike instead of training through it.

Why: trained for thousands of steps (on a GPU), every multi-style zoo run diverged sooner or later. The loss
crept up to about twice its level over a few dozen steps, then one step's loss was hundreds to billions of times
its usual size, and the network fell into flat colour blobs it had not left thousands of steps later (Adam's
second moments, filled by the spike's gradients, keep every later step tiny). Nothing a run writes afterwards
is worth keeping; ``benchmarks/results/zoo_gpu_runs.json`` has the runs.

:class:`SpikeGuard` keeps the last two in-memory snapshots of the weights and optimiser (one every
``snapshot_every`` accepted steps). A step whose loss is ``factor`` times the median of its style's recent
losses is not taken: the weights and optimiser go back to the older snapshot, from before the creep, and every
learning rate is halved so the run does not climb into the same spike again.
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
    """Detects a step whose loss spikes and rolls the run back to a snapshot from before it.

    Args:
        factor: a step's loss above ``factor`` times the median of its style's last ``window`` losses is a spike.
        window: losses remembered per style; no step is a spike before half of them are known.
        snapshot_every: accepted steps between snapshots.
        max_rollbacks: after this many rollbacks a spike stops the run with an error.
    """

    factor: float = 10.0
    window: int = 16
    snapshot_every: int = 50
    max_rollbacks: int = 8
    events: list[dict[str, Any]] = field(default_factory=list)
    _losses: dict[int, deque[float]] = field(default_factory=dict, repr=False)
    _snapshots: deque[Snapshot] = field(default_factory=lambda: deque(maxlen=2), repr=False)

    def is_spike(self, style: int, loss: float) -> bool:
        recent = self._losses.get(style)
        if recent is None or len(recent) < max(1, self.window // 2):
            return False
        return loss > self.factor * statistics.median(recent)

    def accept(self, style: int, loss: float, step: int, model: torch.nn.Module,
               optimizer: torch.optim.Optimizer) -> None:
        """Remember an accepted step's loss; ``step`` is the run's step count once this step is taken."""
        self._losses.setdefault(style, deque(maxlen=self.window)).append(loss)
        if not self._snapshots or step - self._snapshots[-1].step >= self.snapshot_every:
            self._snapshots.append(Snapshot(step, {k: v.detach().clone() for k, v in model.state_dict().items()},
                                            copy.deepcopy(optimizer.state_dict())))

    def roll_back(self, step: int, loss: float, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Restore the older snapshot, halve every learning rate; returns the event (also kept in ``events``).

        Raises :class:`FloatingPointError` when no snapshot exists yet or ``max_rollbacks`` is spent."""
        if not self._snapshots or len(self.events) >= self.max_rollbacks:
            raise FloatingPointError(
                f"the loss spiked at step {step + 1} ({loss:.4g}, over {self.factor:g} times its recent median) "
                f"after {len(self.events)} rollbacks; lower --lr or the recipe's weights")
        snapshot = self._snapshots[0]
        model.load_state_dict(snapshot.model)
        optimizer.load_state_dict(copy.deepcopy(snapshot.optimizer))
        for group in optimizer.param_groups:
            group["lr"] *= 0.5
        self._snapshots.clear()
        self._snapshots.append(snapshot)
        self._losses.clear()  # the restored weights' losses are the new normal
        event = {"step": step + 1, "loss": loss, "restored_step": snapshot.step,
                 "lr": [group["lr"] for group in optimizer.param_groups]}
        self.events.append(event)
        return event
