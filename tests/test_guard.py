"""The divergence guard's rule (a spike is factor x its style's recent median) and its limits."""

from __future__ import annotations

import statistics

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.guard import SpikeGuard


def _tiny():
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


@settings(max_examples=60, deadline=None)
@given(losses=st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=40), probe=st.floats(1e-3, 1e9),
       factor=st.floats(1.5, 50.0))
def test_a_spike_is_factor_times_the_median_of_the_styles_last_window_losses(losses, probe, factor):
    guard, (model, optimizer) = SpikeGuard(factor=factor, window=16), _tiny()
    for i, loss in enumerate(losses):
        guard.accept(0, loss, i + 1, model, optimizer)
    recent = losses[-16:]
    expected = len(recent) >= 8 and probe > factor * statistics.median(recent)
    assert guard.is_spike(0, probe) == expected
    assert not guard.is_spike(1, probe)  # another style has its own history, empty here


def test_roll_back_restores_the_older_snapshot_and_stops_after_max_rollbacks():
    guard, (model, optimizer) = SpikeGuard(snapshot_every=2, max_rollbacks=1), _tiny()
    with pytest.raises(FloatingPointError, match="step 1 .*after 0 rollbacks"):
        guard.roll_back(0, 1e9, model, optimizer)  # nothing to go back to yet
    kept = {}
    for step in range(1, 6):
        kept[step] = {k: v.clone() for k, v in model.state_dict().items()}
        guard.accept(0, 1.0, step, model, optimizer)  # snapshots at steps 1, 3, 5: the last two are kept
        with torch.no_grad():
            model.weight.add_(1.0)
    event = guard.roll_back(5, 1e9, model, optimizer)
    assert event["restored_step"] == 3 and event["lr"] == [5e-3]
    torch.testing.assert_close(model.weight, kept[3]["weight"])
    assert not guard.is_spike(0, 1e9)  # the history starts again from the restored weights
    with pytest.raises(FloatingPointError, match="after 1 rollbacks"):
        guard.roll_back(6, 1e9, model, optimizer)


def _creep_rule(steps: list[tuple[int, float]], probe_style: int, probe: float, factor: float, window: int) -> bool:
    """The creep rule computed from scratch: each style's baseline is the lowest median of its last ``window``
    losses (once half are known); a step's ratio is its loss over its style's baseline before the step."""
    seen: dict[int, list[float]] = {}
    baselines: dict[int, float] = {}
    ratios: list[float] = []
    for style, loss in steps:
        if style in baselines:
            ratios.append(loss / baselines[style])
        seen.setdefault(style, []).append(loss)
        if len(seen[style]) >= window // 2:
            baselines[style] = min(baselines.get(style, float("inf")), statistics.median(seen[style][-window:]))
    if probe_style not in baselines:
        return False
    last = (ratios + [probe / baselines[probe_style]])[-window:]
    return len(last) >= window and statistics.median(last) > factor


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.floats(1.0, 1e4)), min_size=1, max_size=60),
       probe=st.floats(1.0, 1e5), factor=st.floats(1.2, 5.0))
def test_a_creep_is_the_median_ratio_to_each_styles_lowest_recent_median(steps, probe, factor):
    guard, (model, optimizer) = SpikeGuard(factor=0, creep_factor=factor, window=8), _tiny()
    for i, (style, loss) in enumerate(steps):
        guard.accept(style, loss, i + 1, model, optimizer)
    for style in range(3):
        assert guard.is_creep(style, probe) == _creep_rule(steps, style, probe, factor, 8)
        assert not guard.is_spike(style, probe * 1e6)  # factor 0: spikes are not watched
        assert guard.check(style, probe) == ("creep" if guard.is_creep(style, probe) else None)


def test_no_snapshot_is_taken_while_a_creep_is_under_way():
    guard, (model, optimizer) = SpikeGuard(creep_factor=2.0, window=8, snapshot_every=4), _tiny()
    for step in range(1, 13):  # steady: snapshots at steps 1, 5, 9 (the last two kept)
        guard.accept(0, 100.0, step, model, optimizer)
    for step in range(13, 25):  # the loss creeps to 3x: once most ratios are over 1.5, no more snapshots
        guard.accept(0, 100.0 + 20.0 * (step - 12), step, model, optimizer)
    assert guard.check(0, 400.0) == "creep"
    event = guard.roll_back(24, 400.0, model, optimizer, "creep")
    assert event["reason"] == "creep" and event["restored_step"] <= 13  # a snapshot from before the climb
    assert guard.baselines == {0: 100.0} and guard.check(0, 150.0) is None  # the baseline stays; ratios restart


def test_the_final_error_names_the_rule_that_fired():
    guard, (model, optimizer) = SpikeGuard(max_rollbacks=0), _tiny()
    guard.accept(0, 1.0, 1, model, optimizer)
    with pytest.raises(FloatingPointError, match="crept up to over 2 times its baseline by step 8"):
        guard.roll_back(7, 5.0, model, optimizer, "creep")
    with pytest.raises(FloatingPointError, match="spiked at step 8"):
        guard.roll_back(7, 5.0, model, optimizer)


def test_a_creep_counts_the_step_itself_with_the_window_minus_one_before_it():
    guard, (model, optimizer) = SpikeGuard(factor=0, creep_factor=2.0, window=8), _tiny()
    for step in range(1, 5):  # four losses of 1: the baseline is known from here on
        guard.accept(0, 1.0, step, model, optimizer)
    for step in range(5, 12):  # seven ratios, four of them 3
        guard.accept(0, 3.0 if step >= 8 else 1.0, step, model, optimizer)
    assert guard.is_creep(0, 3.0)  # with this step: eight ratios, five of them 3
    assert not guard.is_creep(0, 1.0)
