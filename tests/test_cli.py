"""The preserve command line, end to end in a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import torch
from PIL import Image

from helpers import PHOTOS, STARRY_NIGHT
from preserve.cli import main


def test_plugins_lists_cards_from_the_console_script():
    exe = shutil.which("preserve") or f"{sys.executable} -m preserve.cli"
    out = subprocess.run(f"{exe} plugins", shell=True, capture_output=True, text=True, check=True).stdout
    for name in ("content", "style", "tv"):
        assert any(line.startswith(name) for line in out.splitlines())
    assert "default weight" in out
    data = json.loads(subprocess.run(f"{exe} plugins --json 'sty*'", shell=True, capture_output=True, text=True,
                                     check=True).stdout)
    assert [item["name"] for item in data["items"]] == ["style"]


def test_train_resume_stylize(tmp_path, photo_dir, capsys):
    run = tmp_path / "run"
    common = ["--image-size", "64", "--batch-size", "2", "--workers", "0", "--no-progress", "--no-bf16"]
    assert main(["train", "--data", str(photo_dir), "--style", str(STARRY_NIGHT), "--steps", "2",
                 "--style-weight", "0.5", "--weight", "tv=5", "--out", str(run), *common]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["recipe"]["style"]["weight"] == 0.5 and config["recipe"]["tv"]["weight"] == 5.0
    again = ["train", "--data", str(photo_dir), "--style", str(STARRY_NIGHT), "--out", str(run), *common]
    assert main(again) == 2 and "--resume" in capsys.readouterr().err  # never silently replaces a run
    assert main(["train", "--resume", "--out", str(run), "--steps", "4", "--no-progress"]) == 0
    assert torch.load(run / "model.pt", weights_only=True)["steps"] == 4
    assert "broken.jpg" in capsys.readouterr().err

    # stylize a folder with a corrupt file, a grayscale file and an RGBA file
    inputs = tmp_path / "in"
    shutil.copytree(photo_dir, inputs)
    Image.open(PHOTOS / "kite.jpg").convert("L").save(inputs / "gray.png")
    Image.open(PHOTOS / "kite.jpg").convert("RGBA").resize((33, 21)).save(inputs / "small_rgba.png")
    out = tmp_path / "out"
    code = main(["stylize", str(inputs), "--model", str(run / "model.pt"), "--out", str(out),
                 "--grid", str(tmp_path / "grid.png"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "broken.jpg" in err and "1 input(s) failed" in err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["astronaut.png", "coffee.png", "dog.png", "gray.png", "nested/colosseum.png", "small_rgba.png"]
    assert Image.open(out / "small_rgba.png").size == (33, 21) and Image.open(out / "small_rgba.png").mode == "RGBA"
    assert Image.open(out / "astronaut.png").size == Image.open(inputs / "astronaut.jpg").size
    assert Image.open(tmp_path / "grid.png").size[0] > 256


def test_helpful_errors(tmp_path, capsys):
    assert main(["train", "--data", str(PHOTOS), "--out", str(tmp_path / "x")]) == 2
    assert "--style" in capsys.readouterr().err
    assert main(["train", "--data", str(PHOTOS), "--style", str(STARRY_NIGHT), "--weight", "fcae=1",
                 "--out", str(tmp_path / "x")]) == 2
    assert "unknown plugin 'fcae'" in capsys.readouterr().err
    assert main(["stylize", str(PHOTOS / "dog.jpg"), "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert main(["stylize", str(PHOTOS / "dog.jpg"), "--model", str(tmp_path / "bad.pt"), "--out", str(tmp_path)]) == 2
    assert "not a preserve model" in capsys.readouterr().err
