"""Every example in the README runs as written (with smaller step counts and sizes), so none can rot.

The shell block of the 'Use' section and the Python blocks run in a temporary folder holding a copy of
examples/, as a new user would run them from the repository root.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def _blocks(language: str, section: str | None = None) -> list[str]:
    text = README if section is None else README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def use_commands() -> list[str]:
    """The shell commands of the 'Use' section, continuation lines joined, comments dropped."""
    (block,) = _blocks("bash", "Use")
    joined = block.replace("\\\n", " ")
    return [ln.split("  #", 1)[0].split(" # ", 1)[0].strip() for ln in joined.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def smaller(command: str) -> str:
    """The same command with test-sized steps, crops and images."""
    c = re.sub(r"--steps \d+", "--steps 2", command)
    c = re.sub(r"--epochs \d+", "--steps 2", c)
    c = c.replace("--keep-every 300", "--keep-every 1").replace("step-600.pt", "step-1.pt")
    words = shlex.split(c)
    if "train" in words:
        c += " --image-size 32 --batch-size 2 --workers 0 --no-progress"
    if "stylize" in words and "--size" not in words:
        c += " --size 48"
    if "evaluate" in words:
        c += " --size 128"
    if "tune" in words:
        c += " --size 96 --styles the_scream --no-progress"
    return c


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples" / "data", d / "examples" / "data")
    shutil.copytree(ROOT / "examples" / "recipes", d / "examples" / "recipes")
    return d


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "2"}


@pytest.mark.slow
def test_the_use_section_runs_as_written(workdir):
    commands = use_commands()
    assert len(commands) >= 25 and all(c.split()[0] in ("preserve", "torchrun") for c in commands)
    for command in commands:
        run = subprocess.run(smaller(command), shell=True, cwd=workdir, env=_env(), capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, f"{command}\n{run.stderr[-2000:]}"
        if command.startswith("preserve faces split eval"):  # evaluate on two of the held-out photos, not 60
            for extra in sorted((workdir / "faces-eval").iterdir())[2:]:
                extra.unlink()
    assert (workdir / "stylized" / "grace_hopper.png").is_file() and (workdir / "grid.png").is_file()
    assert (workdir / "eval" / "summary.json").is_file() and (workdir / "starry.onnx").is_file()
    assert (workdir / "runs" / "trunk-faces" / "model.pt").is_file()


@pytest.mark.slow
def test_the_python_examples_run_as_written(workdir):
    for block in _blocks("python"):
        code = block.replace("steps=4000", "steps=2, image_size=32, batch_size=2, workers=0, progress=False")
        run = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=_env(), capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, f"{block}\n{run.stderr[-2000:]}"
