"""Two processes with torchrun (gloo on the CPU) train exactly what one process trains at the same global batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from helpers import PHOTOS, STARRY_NIGHT
from preserve.imageio import load_image
from preserve.stylize import load_model


def _train_args(out, extra=()):
    return ["train", "--data", str(PHOTOS), "--style", str(STARRY_NIGHT), "--image-size", "48", "--batch-size", "4",
            "--steps", "3", "--workers", "0", "--no-bf16", "--no-progress", "--checkpoint-every", "2", "--log-every", "1",
            "--out", str(out), *extra]


@pytest.mark.skipif(not shutil.which("torchrun") and not os.path.exists(os.path.join(os.path.dirname(sys.executable),
                    "torchrun")), reason="torchrun is not installed")
def test_two_processes_match_one_at_the_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "preserve.cli", *_train_args(tmp_path / "one")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert single.returncode == 0, single.stderr[-2000:]
    multi = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "preserve.cli",
                            *_train_args(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=600)
    assert multi.returncode == 0, multi.stderr[-2000:]
    one_net, two_net = load_model(tmp_path / "one" / "model.pt"), load_model(tmp_path / "two" / "model.pt")
    # Convolution kernels agree to float noise (1e-5 is 1 % of one Adam step at the default learning rate).
    # 1-D parameters are left out: where their gradient is near zero (conv biases in front of instance norm,
    # which cancels them; norm shifts at the start), Adam turns summation-order noise into lr-sized steps.
    for (k, a), b in zip(one_net.state_dict().items(), two_net.state_dict().values()):
        if a.dim() > 1:
            assert float((a - b).abs().mean()) < 1e-3 * float(a.abs().mean()) + 1e-5, k
    x = load_image(PHOTOS / "astronaut.jpg", max_side=96).rgb[None]
    with torch.no_grad():
        diff = (one_net(x) - two_net(x)).abs()
    assert float(diff.mean()) < 5e-3 and float(diff.max()) < 0.05  # pixels in [0, 1]
    one = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    two = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in two] == [1, 2, 3]  # only the main process writes the log
    for r1, r2 in zip(one, two):
        assert r2["total"] == pytest.approx(r1["total"], rel=1e-3)  # losses averaged over both shards
    # resume with two processes continues from the checkpoint written by the main process
    again = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "preserve.cli", "train",
                            "--resume", "--out", str(tmp_path / "two"), "--steps", "5", "--no-progress"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert torch.load(tmp_path / "two" / "model.pt", weights_only=True)["steps"] == 5


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("torchrun") and not os.path.exists(os.path.join(os.path.dirname(sys.executable),
                    "torchrun")), reason="torchrun is not installed")
def test_two_processes_train_with_the_face_plugin_and_share_its_index(tmp_path):
    """Rank 0 builds the face index, rank 1 reads it; both embed with the same converted SFace file."""
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    data = tmp_path / "faces"
    data.mkdir()
    for name in ("grace_hopper.jpg", "astronaut.jpg", "dog.jpg", "coffee.jpg"):
        shutil.copy(PHOTOS / name, data / name)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "preserve.cli", "train",
                          "--data", str(data), "--style", str(STARRY_NIGHT), "--face", "3e4", "--image-size", "96",
                          "--batch-size", "4", "--steps", "2", "--workers", "0", "--no-progress", "--log-every", "1",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    index = json.loads((data / ".preserve-faces.json").read_text())
    assert sorted(index["images"]) == ["astronaut.jpg", "coffee.jpg", "dog.jpg", "grace_hopper.jpg"]
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2] and all("face" in r and "face_faces" in r for r in lines)
    assert sum(r["face_faces"] for r in lines) > 0


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("torchrun") and not os.path.exists(os.path.join(os.path.dirname(sys.executable),
                    "torchrun")), reason="torchrun is not installed")
def test_two_processes_train_a_multi_style_network(tmp_path):
    """Every process paints each step's batch in the same style (the styles take turns by step); the
    stability term runs the network a second time in each process, beside DDP's own pass."""
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    scream = STARRY_NIGHT.with_name("the_scream.jpg")
    run = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "preserve.cli", "train",
                          "--data", str(PHOTOS), "--network", "fast", "--style", str(STARRY_NIGHT), str(scream),
                          "--image-size", "48", "--batch-size", "4", "--steps", "4", "--workers", "0", "--no-progress",
                          "--weight", "stability=1e5", "--log-every", "1", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["stability"] > 0 for r in lines)
    assert [("style@starry_night" in r, "style@the_scream" in r) for r in lines] == [(True, False), (False, True)] * 2
    assert load_model(tmp_path / "run" / "model.pt").style_names == ["starry_night", "the_scream"]
