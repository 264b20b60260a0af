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
