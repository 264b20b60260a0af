"""Every example in the README runs as written (with smaller step counts and sizes), so none can rot.

The shell block of the 'Use' section and the Python blocks run in a temporary folder holding a copy of
examples/, as a new user would run them from the repository root. The ``preserve`` commands run in this process
through ``preserve.cli.main``, the function the ``preserve`` console script calls (tests/test_cli.py runs the
script itself): a new process per command spent most of the time importing torch again, not running the example.
``torchrun`` starts its own processes, as a user's would.
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
from preserve.cli import main

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
    c = re.sub(r"--image-sizes \d+ \d+", "--image-sizes 32 48", c)
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


#: What the README's evaluations run on, cut down after the command that writes it: evaluate on two of the
#: held-out photos (not 60), tune on three photos of the tune split (not 21; tune evaluates three branches).
TRIM_AFTER = {"preserve faces split": {"faces-eval": 2}, "preserve data build": {"data/tune": 3}}


def _run_in_process(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = shlex.split(command)
    try:
        code = main(words[1:])
    except SystemExit as exc:  # argparse refused the command line
        code = exc.code
    err = capsys.readouterr().err
    assert code == 0, f"{command}\n{err[-2000:]}"


@pytest.mark.slow
def test_the_use_section_runs_as_written(workdir, monkeypatch, capsys):
    commands = use_commands()
    assert len(commands) >= 25 and all(c.split()[0] in ("preserve", "torchrun") for c in commands)
    monkeypatch.chdir(workdir)
    for command in commands:
        if command.startswith("preserve "):
            _run_in_process(smaller(command), capsys)
        else:
            run = subprocess.run(smaller(command), shell=True, cwd=workdir, env=_env(), capture_output=True,
                                 text=True, timeout=600)
            assert run.returncode == 0, f"{command}\n{run.stderr[-2000:]}"
        for folder, keep in TRIM_AFTER.get(" ".join(command.split()[:3]), {}).items():
            for extra in sorted((workdir / folder).iterdir())[keep:]:
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
