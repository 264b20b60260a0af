"""Real training steps with the real VGG-19: learning, resume, unreadable files."""

from __future__ import annotations

import json
import statistics
import os
import signal

import pytest
import torch
from helpers import PHOTOS, STARRY_NIGHT, small_recipe

import preserve
from preserve.stylize import load_model
from preserve.guard import SpikeGuard
from preserve.train import TrainConfig, Trainer


def _config(out, data, **kw):
    base = dict(data=[str(data)], out=str(out), recipe=small_recipe(64), image_size=64, batch_size=2, steps=4,
                workers=0, progress=False, log_every=1, checkpoint_every=2, preview_every=1000, bf16=False)
    base.update(kw)
    return TrainConfig(**base)


def _assert_same_model(run_a, run_b):
    a = load_model(run_a / "model.pt").state_dict()
    b = load_model(run_b / "model.pt").state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def _logged_steps(run):
    return [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()]


def test_short_training_lowers_the_style_loss(tmp_path):
    trainer = Trainer(_config(tmp_path / "run", PHOTOS, steps=30, bf16=None, lr=2e-3))
    batch = next(trainer._batches()).images
    with torch.no_grad():
        before = trainer.recipe(trainer.model(batch), batch).raw["style"].mean()
    trainer.fit()
    trainer.model.eval()
    with torch.no_grad():
        after = trainer.recipe(trainer.model(batch), batch).raw["style"].mean()
    assert after < 0.2 * before, (float(before), float(after))
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == list(range(1, 31))
    assert {"total", "content", "style", "tv", "images_per_s"} <= set(lines[-1])
    assert (tmp_path / "run" / "losses.png").stat().st_size > 1000


def test_resume_equals_straight_training(tmp_path):
    straight = Trainer(_config(tmp_path / "a", PHOTOS, steps=6))
    straight.fit()
    Trainer(_config(tmp_path / "b", PHOTOS, steps=3)).fit()
    resumed = Trainer(_config(tmp_path / "b", PHOTOS, steps=6), resume=True)
    assert resumed.step == 3
    resumed.fit()
    _assert_same_model(tmp_path / "a", tmp_path / "b")
    assert _logged_steps(tmp_path / "b") == [1, 2, 3, 4, 5, 6]


def test_a_moved_run_folder_resumes_where_it_now_is(tmp_path):
    """A run folder copied elsewhere (another disk, back from a GPU machine) and resumed with its own config
    trains on in the new folder; the old one, whose path its config.json records, is left as it was."""
    import shutil

    from preserve.train import build_config

    Trainer(_config(tmp_path / "old", PHOTOS, steps=2)).fit()
    shutil.copytree(tmp_path / "old", tmp_path / "new")
    before = (tmp_path / "old" / "checkpoints" / "last.pt").read_bytes()
    config = build_config(None, tmp_path / "new", resume=True, steps=4)
    assert config.out == str(tmp_path / "new")
    Trainer(config, resume=True).fit()
    assert torch.load(tmp_path / "new" / "checkpoints" / "last.pt", weights_only=True)["step"] == 4
    assert (tmp_path / "old" / "checkpoints" / "last.pt").read_bytes() == before
    assert _logged_steps(tmp_path / "old") == [1, 2]


def test_a_run_continued_on_another_machine_says_how_its_steps_split(tmp_path, monkeypatch):
    """sessions.jsonl records each start and resume; history() splits steps and logged seconds over machines."""
    import preserve.rundir

    monkeypatch.setattr(preserve.rundir, "describe", lambda: "machine A")
    Trainer(_config(tmp_path / "r", PHOTOS, steps=3, checkpoint_every=1)).fit()
    monkeypatch.setattr(preserve.rundir, "describe", lambda: "machine B")
    Trainer(_config(tmp_path / "r", PHOTOS, steps=5), resume=True).fit()
    sessions = [json.loads(ln) for ln in (tmp_path / "r" / "sessions.jsonl").read_text().splitlines()]
    assert [(s["step"], s["machine"], s["device"]) for s in sessions] == [(0, "machine A", "cpu"), (3, "machine B", "cpu")]
    history = preserve.rundir.RunDir(tmp_path / "r").history()
    assert [(m["machine"], m["steps"]) for m in history["machines"]] == [("machine A", 3), ("machine B", 2)]
    logged = [json.loads(ln)["s_per_step"] for ln in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert history["steps"] == 5
    assert history["seconds"] == pytest.approx(sum(logged))  # log_every=1: one line per step
    assert history["machines"][0]["seconds"] == pytest.approx(sum(logged[:3]))


def test_history_of_a_run_folder_from_before_sessions_were_recorded(tmp_path):
    from preserve.rundir import RunDir

    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": k, "s_per_step": 2.0}) + "\n"
                                                    for k in (10, 20, 25)))
    assert RunDir(tmp_path).history() == {"steps": 25, "seconds": 50.0, "machines": [
        {"machine": "unknown", "device": "unknown", "steps": 25, "seconds": 50.0}]}
    assert RunDir(tmp_path / "never-trained").history() == {"steps": 0, "seconds": 0.0, "machines": []}


def _ema(states, decay):
    """The moving average of ``states`` (one state dict per step, in order), computed here step by step."""
    average = None
    for state in states:
        average = dict(state) if average is None else {k: decay * average[k] + (1 - decay) * v for k, v in state.items()}
    return average


def test_ema_model_file_holds_the_moving_average_of_the_weights(tmp_path):
    trainer = Trainer(_config(tmp_path / "e", PHOTOS, steps=5, lr=1e-3, ema=0.6))
    states = []
    trainer.fit(callback=lambda step, result: states.append(
        {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}))
    expected, saved = _ema(states, 0.6), load_model(tmp_path / "e" / "model.pt").state_dict()
    for name, value in saved.items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)
    assert any(not torch.allclose(saved[k], states[-1][k]) for k in saved)  # not the last weights
    checkpoint = torch.load(tmp_path / "e" / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["ema_steps"] == 5
    for name, value in load_model(tmp_path / "e" / "checkpoints" / "last.pt").state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)  # a checkpoint opens as its average


def test_ema_resumes_with_its_average_and_can_be_turned_on_when_resuming(tmp_path):
    Trainer(_config(tmp_path / "a", PHOTOS, steps=6, ema=0.7)).fit()
    Trainer(_config(tmp_path / "b", PHOTOS, steps=3, ema=0.7)).fit()
    Trainer(_config(tmp_path / "b", PHOTOS, steps=6, ema=0.7), resume=True).fit()
    _assert_same_model(tmp_path / "a", tmp_path / "b")

    Trainer(_config(tmp_path / "c", PHOTOS, steps=3)).fit()  # no average until the resume turns it on
    late = Trainer(_config(tmp_path / "c", PHOTOS, steps=6, ema=0.7), resume=True)
    states = []
    late.fit(callback=lambda step, result: states.append(
        {k: v.detach().clone() for k, v in late.model.state_dict().items()}))
    expected = _ema(states, 0.7)  # steps 4-6 only: the average starts at the resume
    for name, value in load_model(tmp_path / "c" / "model.pt").state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)
    assert torch.load(tmp_path / "c" / "checkpoints" / "last.pt", weights_only=True)["ema_steps"] == 3


def test_a_bad_ema_decay_is_refused(tmp_path):
    for decay in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="--ema"):
            Trainer(_config(tmp_path / "x", PHOTOS, ema=decay))


def test_resume_refuses_a_different_recipe(tmp_path):
    Trainer(_config(tmp_path / "r", PHOTOS, steps=1)).fit()
    changed = _config(tmp_path / "r", PHOTOS, steps=2)
    changed.recipe["content"]["weight"] = 123.0
    with pytest.raises(ValueError, match="recipe"):
        Trainer(changed, resume=True)


def test_branch_with_the_same_recipe_equals_straight_training(tmp_path):
    straight = Trainer(_config(tmp_path / "a", PHOTOS, steps=5))
    straight.fit()
    Trainer(_config(tmp_path / "trunk", PHOTOS, steps=4, keep_every=2)).fit()
    kept = sorted(p.name for p in (tmp_path / "trunk" / "checkpoints").glob("step-*.pt"))
    assert kept == ["step-2.pt", "step-4.pt"]
    branch = Trainer(_config(tmp_path / "branch", PHOTOS, steps=5,
                             init=str(tmp_path / "trunk" / "checkpoints" / "step-2.pt")))
    assert branch.step == 2
    branch.fit()
    _assert_same_model(tmp_path / "a", tmp_path / "branch")
    assert _logged_steps(tmp_path / "branch") == [3, 4, 5]


def test_branch_with_another_recipe_diverges_and_bad_branch_points_are_named(tmp_path):
    Trainer(_config(tmp_path / "trunk", PHOTOS, steps=2)).fit()
    last = tmp_path / "trunk" / "checkpoints" / "last.pt"
    other = _config(tmp_path / "other", PHOTOS, steps=3, init=str(last))
    other.recipe["tv"]["weight"] = 0.0
    Trainer(other).fit()
    same = _config(tmp_path / "same", PHOTOS, steps=3, init=str(last))
    Trainer(same).fit()
    a = load_model(tmp_path / "other" / "model.pt").state_dict()
    b = load_model(tmp_path / "same" / "model.pt").state_dict()
    assert any(not torch.allclose(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="already at step 2"):
        Trainer(_config(tmp_path / "x", PHOTOS, steps=2, init=str(last)))
    with pytest.raises(ValueError, match="width"):
        Trainer(_config(tmp_path / "y", PHOTOS, steps=3, width=16, init=str(last)))
    model = tmp_path / "trunk" / "model.pt"  # a model file warm-starts: its weights, from step 0, fresh optimiser
    warm = Trainer(_config(tmp_path / "z", PHOTOS, steps=3, init=str(model)))
    assert warm.step == 0 and not warm.optimizer.state
    with pytest.raises(ValueError, match="same architecture and width"):
        Trainer(_config(tmp_path / "u", PHOTOS, steps=3, width=16, init=str(model)))
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match="not a readable preserve checkpoint"):
        Trainer(_config(tmp_path / "v", PHOTOS, steps=3, init=str(tmp_path / "notes.txt")))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Trainer(_config(tmp_path / "w", PHOTOS, steps=3, init=str(tmp_path / "nothing.pt")))


def test_unreadable_files_are_skipped_and_counted(tmp_path, photo_dir):
    trainer = Trainer(_config(tmp_path / "s", photo_dir, steps=4, batch_size=5))
    path = trainer.fit()
    assert list(trainer.skipped) == [str(photo_dir / "broken.jpg")]
    assert json.loads((tmp_path / "s" / "skipped.json").read_text())
    state = torch.load(path, weights_only=True)
    assert state["steps"] == 4 and state["format"] == "preserve.transformer_net/1"


def test_interrupt_writes_a_checkpoint(tmp_path):
    trainer = Trainer(_config(tmp_path / "i", PHOTOS, steps=10))

    def stop(step, result):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.fit(callback=stop)
    state = torch.load(tmp_path / "i" / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 3


def test_an_interrupted_run_logs_the_steps_its_checkpoint_holds(tmp_path):
    """Stopped between two log lines, the run logs the partial window, so metrics.jsonl (and the steps and hours
    read from it) reaches the checkpoint's step instead of stopping at the last full window."""
    def stop(step, result):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(_config(tmp_path / "i", PHOTOS, steps=10, log_every=2)).fit(callback=stop)
    assert torch.load(tmp_path / "i" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    assert _logged_steps(tmp_path / "i") == [2, 3]
    Trainer(_config(tmp_path / "i", PHOTOS, steps=6, log_every=2), resume=True).fit()
    assert _logged_steps(tmp_path / "i") == [2, 3, 4, 6]


def test_a_run_interrupted_in_its_first_step_logs_that_step(tmp_path):
    def stop(step, result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(_config(tmp_path / "i", PHOTOS, steps=10, log_every=2)).fit(callback=stop)
    assert _logged_steps(tmp_path / "i") == [1]


def test_sigterm_writes_a_checkpoint_like_ctrl_c(tmp_path):
    trainer = Trainer(_config(tmp_path / "t", PHOTOS, steps=10))
    before = signal.getsignal(signal.SIGTERM)

    def terminate(step, result):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        trainer.fit(callback=terminate)
    assert torch.load(tmp_path / "t" / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_to_the_data_workers_too_still_writes_a_checkpoint(tmp_path):
    """``pkill -f 'preserve train'``, or a scheduler signalling the process group, reaches the data-loading
    workers as well as the trainer. The signalled worker made the trainer fail with "DataLoader worker is
    killed" and lose the steps since its last checkpoint (this test failed so, twice in two runs, before the
    workers ignored SIGTERM); now they leave stopping to the trainer, which writes its checkpoint."""
    import pathlib
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "preserve", "train", "--data", str(PHOTOS), "--style", str(STARRY_NIGHT), "--out",
           str(out), "--steps", "500", "--image-size", "64", "--batch-size", "2", "--workers", "1",
           "--checkpoint-every", "1000", "--log-every", "1", "--no-progress", "--no-bf16"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 240
        metrics = out / "metrics.jsonl"
        while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.5)
        workers = pathlib.Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert workers, "the data-loading worker should be running"
        for pid in [proc.pid, *map(int, workers)]:  # the trainer, then its worker, as pkill -f does
            os.kill(pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "checkpoint written" in err, err[-2000:]
    assert "DataLoader worker" not in err
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["step"] >= 3


def test_tensorboard_gets_per_term_scalars_and_previews(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    Trainer(_config(tmp_path / "tb", PHOTOS, steps=2, tensorboard=True, preview_every=1)).fit()
    events = list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1  # one file: the final preview is written before the writer closes
    acc = EventAccumulator(str(tmp_path / "tb" / "tensorboard"), size_guidance={"images": 10})
    acc.Reload()
    assert {"loss/total", "loss/content", "loss/style", "loss/tv"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("loss/style")] == [1, 2]
    assert "preview" in acc.Tags()["images"]


@preserve.register("nan_after_two", override=True)
class NanAfterTwo(preserve.Plugin):
    """A test plugin whose loss turns NaN on its third call."""

    card = preserve.PluginCard(name="nan_after_two", summary="NaN from the third call on", default_weight=1.0)

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, ctx: preserve.LossContext) -> torch.Tensor:
        self.calls += 1
        value = ctx.stylized.mean((1, 2, 3))
        return value * float("nan") if self.calls >= 3 else value


def test_a_non_finite_loss_stops_before_the_weights_take_the_step(tmp_path):
    recipe = {**small_recipe(64), "nan_after_two": 1.0}
    trainer = Trainer(_config(tmp_path / "n", PHOTOS, steps=6, recipe=recipe, checkpoint_every=1))
    with pytest.raises(FloatingPointError, match="step 3.*nan_after_two"):
        trainer.fit()
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    saved = torch.load(tmp_path / "n" / "checkpoints" / "last.pt", weights_only=True)
    assert saved["step"] == 2 and all(torch.isfinite(v).all() for v in saved["model"].values())
    assert not (tmp_path / "n" / "model.pt").exists()


def test_a_loss_spike_rolls_back_to_a_snapshot_and_halves_the_learning_rate(tmp_path):
    trainer = Trainer(_config(tmp_path / "s", PHOTOS, steps=12, lr=1e-3, checkpoint_every=100))
    states = {}

    def wreck_after_step_9(step, result):
        states[step] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if step == 9:  # what a diverging run does: the next forward pass's loss is orders of magnitude off
            with torch.no_grad():
                trainer.model.out.conv.weight.mul_(1e3)

    trainer.fit(callback=wreck_after_step_9)
    [event] = trainer.guard.events
    assert event["step"] == 10 and event["restored_step"] == 1 and event["lr"] == [5e-4]
    for name, value in states[10].items():  # after the spike: the weights of step 1, not the wrecked ones
        torch.testing.assert_close(value, states[1][name], msg=name)
    assert trainer.optimizer.param_groups[0]["lr"] == 5e-4
    rows = [json.loads(ln) for ln in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    assert [r["rollbacks"] for r in rows] == [0] * 9 + [1] * 3
    assert rows[-1]["total"] < 10 * rows[8]["total"]  # training went on from the restored weights
    saved = torch.load(tmp_path / "s" / "checkpoints" / "last.pt", weights_only=True)
    assert json.loads(saved["rollbacks"]) == [event]


def test_after_a_rollback_the_moving_average_starts_again_from_the_restored_weights(tmp_path):
    trainer = Trainer(_config(tmp_path / "s", PHOTOS, steps=12, lr=1e-3, checkpoint_every=100, ema=0.6))
    states = {}

    def wreck_after_step_9(step, result):
        states[step] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if step == 9:
            with torch.no_grad():
                trainer.model.out.conv.weight.mul_(1e3)

    trainer.fit(callback=wreck_after_step_9)
    assert [e["step"] for e in trainer.guard.events] == [10]
    # the restored weights (those of step 1, the callback's states[10]), then steps 11 and 12: nothing of steps
    # 2-9, which the rollback undid
    expected = _ema([states[10], states[11], states[12]], 0.6)
    for name, value in load_model(tmp_path / "s" / "model.pt").state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_a_loss_that_creeps_up_without_spiking_rolls_back_to_a_healthy_snapshot(tmp_path):
    """Losses that climb a little every step: no step is a spike, but the creep rule sees the climb; the run
    goes back to a snapshot from before it, halves its rates, and keeps its baseline across a resume."""
    trainer = Trainer(_config(tmp_path / "c", PHOTOS, steps=34, lr=1e-4, checkpoint_every=100))
    trainer.guard = SpikeGuard(factor=10.0, creep_factor=2.0, window=8, snapshot_every=6)  # a short run's scale
    states = {}

    def creep_from_step_16(step, result):
        states[step] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if step >= 16 and not trainer.guard.events:
            with torch.no_grad():
                trainer.model.out.conv.weight.mul_(1.04)

    trainer.fit(callback=creep_from_step_16)
    rows = [json.loads(ln) for ln in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    [event] = trainer.guard.events
    assert event["reason"] == "creep" and event["lr"] == [5e-5] and event["restored_step"] < 16
    climb = [r["total"] for r in rows[15:event["step"] - 1]]
    assert max(b / a for a, b in zip(climb, climb[1:])) < 3  # a creep: no step near the spike rule's 10x
    assert climb[-1] > 2 * climb[0]
    for name, value in states[event["step"]].items():  # the step not taken left the snapshot's weights
        torch.testing.assert_close(value, states[event["restored_step"]][name], msg=name)
    assert rows[-1]["total"] < 2 * statistics.median(r["total"] for r in rows[9:15])  # back to its level
    saved = torch.load(tmp_path / "c" / "checkpoints" / "last.pt", weights_only=True)
    assert json.loads(saved["loss_baselines"]) == {"0": pytest.approx(trainer.guard.baselines[0])}
    resumed = Trainer(_config(tmp_path / "c", PHOTOS, steps=35), resume=True)
    assert resumed.guard.baselines == pytest.approx(trainer.guard.baselines)


def test_without_the_guard_a_spike_is_trained_through(tmp_path):
    trainer = Trainer(_config(tmp_path / "u", PHOTOS, steps=11, spike_factor=0, creep_factor=0))

    def wreck_after_step_9(step, result):
        if step == 9:
            with torch.no_grad():
                trainer.model.out.conv.weight.mul_(1e3)

    trainer.fit(callback=wreck_after_step_9)
    assert trainer.guard is None
    rows = [json.loads(ln) for ln in (tmp_path / "u" / "metrics.jsonl").read_text().splitlines()]
    assert rows[9]["total"] > 100 * rows[8]["total"] and rows[9]["rollbacks"] == 0


def test_batches_of_only_unreadable_files_never_run_past_the_last_step(tmp_path):
    data = tmp_path / "broken"
    data.mkdir()
    for i in range(6):
        (data / f"{i}.jpg").write_bytes(b"not a jpeg")
    trainer = Trainer(_config(tmp_path / "b", data, steps=2, batch_size=2))
    trainer.fit()
    assert trainer.step == 2 and len(trainer.skipped) == 4


def test_bad_step_counts_and_out_paths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="--steps must be at least 1"):
        Trainer(_config(tmp_path / "z", PHOTOS, steps=0))
    with pytest.raises(ValueError, match="--spike-factor must be 0"):
        Trainer(_config(tmp_path / "z", PHOTOS, spike_factor=-1.0))
    with pytest.raises(ValueError, match="--creep-factor must be 0"):
        Trainer(_config(tmp_path / "z", PHOTOS, creep_factor=0.5))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileExistsError, match="must be a folder"):
        Trainer(_config(tmp_path / "afile", PHOTOS))


def test_a_second_training_into_a_running_run_folder_is_refused(tmp_path):
    from preserve.atomic import FolderBusyError, FolderLock

    trainer = Trainer(_config(tmp_path / "busy", PHOTOS, steps=1))
    with FolderLock(tmp_path / "busy"):  # as a running training holds it (a lock per open file, so this works
        with pytest.raises(FolderBusyError, match="in use by a running training"):  # within one process too)
            trainer.fit()
    trainer.fit()
    assert (tmp_path / "busy" / "model.pt").is_file()


def test_device_choice():
    from preserve.distributed import resolve_device

    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu", 0) or \
        resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unsupported device|unknown device"):
        resolve_device("tpu")
