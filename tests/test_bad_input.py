"""Bad input, from a corpus the tests make: every case ends in one clear 'preserve: error:' line (exit code != 0)
or a documented graceful path, and nothing already computed is lost."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import PHOTOS, STARRY_NIGHT
from preserve import imageio
from preserve.cli import main
from preserve.data import load_rgb_square
from preserve.imageio import load_image
from preserve.models.io import save_model
from preserve.models.transformer_net import TransformerNet


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path: Path, side: int = 100_000) -> Path:
    """A valid PNG header claiming side x side pixels (a decompression bomb), with a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    shutil.copy(PHOTOS / "dog.jpg", d / "good.jpg")
    bomb_png(d / "bomb.png")
    (d / "truncated.jpg").write_bytes((PHOTOS / "coffee.jpg").read_bytes()[:500])
    Image.fromarray(np.full((40, 60), 30000, np.uint16)).save(d / "sixteen.png")
    frames = [Image.new("RGB", (32, 24), c) for c in ("red", "blue")]
    frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (1, 1), "green").save(d / "one.png")
    Image.new("RGB", (3, 3), "green").save(d / "three.png")
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TransformerNet(width=8, residual_blocks=1), tmp_path_factory.mktemp("m") / "model.pt")


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    _run.out = captured.out
    return code, captured.err


def _error(capsys, *argv: str, match: str) -> str:
    code, err = _run(capsys, *argv)
    lines = [ln for ln in err.splitlines() if ln.startswith("preserve: error:")]
    assert code == 2 and len(lines) == 1 and match in lines[0], err
    return lines[0]


# -- images ---------------------------------------------------------------------------------------------------
def test_a_decompression_bomb_is_an_unreadable_image(tmp_path):
    with pytest.raises(imageio.ImageReadError, match="decompression bomb"):
        load_image(bomb_png(tmp_path / "b.png"))


def test_stylizing_a_folder_goes_past_a_bomb_and_names_each_bad_file_once(corpus, model_file, tmp_path, capsys):
    code, err = _run(capsys, "stylize", "--model", str(model_file), str(corpus), "--out", str(tmp_path / "o"),
                     "--no-progress")
    assert code == 1
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert written == ["anim.png", "good.png", "one.png", "sixteen.png", "three.png"]
    for bad in ("bomb.png", "truncated.jpg"):
        assert err.count(bad) == 1, err
    assert "decompression bomb" in err and "1 file(s) whose suffix is not an image's" in err
    assert "anim.gif has 2 frames; only the first is used" in err
    assert Image.open(tmp_path / "o" / "one.png").size == (1, 1)  # tiny images: padded to run, cropped back
    assert Image.open(tmp_path / "o" / "three.png").size == (3, 3)


def test_huge_images_need_a_smaller_size(corpus, model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_FULL_PIXELS", 10_000)  # stands for 100 MP: a 768x512 photo is 'huge'
    code, err = _run(capsys, "stylize", "--model", str(model_file), str(corpus / "good.jpg"), "--out",
                     str(tmp_path / "h"))
    assert code == 1 and "ask for a smaller size (--size N)" in err
    assert _run(capsys, "stylize", "--model", str(model_file), str(corpus / "good.jpg"), "--out",
                str(tmp_path / "h"), "--size", "64")[0] == 0
    assert max(Image.open(tmp_path / "h" / "good.png").size) == 64


def test_sixteen_bit_images_look_the_same_in_training_and_stylizing(corpus):
    crop, _ = load_rgb_square(corpus / "sixteen.png", 32, None, False)
    whole = load_image(corpus / "sixteen.png").rgb
    assert float(crop.mean()) == pytest.approx(30000 / 65535, abs=2e-3)
    assert float(whole.mean()) == pytest.approx(30000 / 65535, abs=2e-3)


def test_training_skips_a_bomb_in_the_data_and_in_the_previews(corpus, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("good.jpg", "bomb.png", "sixteen.png"):
        shutil.copy(corpus / name, data / name)
    code, err = _run(capsys, "train", "--data", str(data), "--style", str(STARRY_NIGHT), "--image-size", "32",
                     "--batch-size", "1", "--steps", "3", "--workers", "0", "--no-progress", "--out",
                     str(tmp_path / "run"), "--preview", str(data / "bomb.png"), str(data / "good.jpg"))
    assert code == 0 and (tmp_path / "run" / "model.pt").is_file()
    assert "skipped 1 unreadable image" in err


def test_faces_index_goes_past_a_bomb(corpus, tmp_path, capsys):
    data = tmp_path / "f"
    data.mkdir()
    shutil.copy(corpus / "bomb.png", data / "bomb.png")
    shutil.copy(PHOTOS / "grace_hopper.jpg", data / "portrait.jpg")
    code, _ = _run(capsys, "faces", "index", str(data), "--no-progress")
    assert code == 0 and _run.out.startswith("2 images, 1 with faces")


# -- model files and checkpoints ------------------------------------------------------------------------------
def test_bad_model_files_are_refused_in_one_line(model_file, corpus, tmp_path, capsys):
    state = torch.load(model_file, weights_only=True)
    nan = {**state, "state_dict": {k: v.clone() for k, v in state["state_dict"].items()}}
    next(iter(nan["state_dict"].values())).fill_(float("nan"))
    torch.save(nan, tmp_path / "nan.pt")
    _error(capsys, "stylize", "--model", str(tmp_path / "nan.pt"), str(corpus / "good.jpg"), "--out",
           str(tmp_path / "o"), match="non-finite weights")
    torch.save({**state, "config": '{"width": 16, "residual_blocks": 1}'}, tmp_path / "width.pt")
    _error(capsys, "stylize", "--model", str(tmp_path / "width.pt"), str(corpus / "good.jpg"), "--out",
           str(tmp_path / "o"), match="do not fit its weights")
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x01garbage" * 20)
    pytest.importorskip("onnxruntime")
    _error(capsys, "stylize", "--model", str(tmp_path / "garbage.onnx"), "--backend", "onnxruntime",
           str(corpus / "good.jpg"), "--out", str(tmp_path / "o"), match="not a usable ONNX model")


class Payload:
    """Pickling this would run code on load; weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("pickle payload ran",))


@pytest.mark.parametrize("kind", ["truncated", "pickle"])
def test_bad_checkpoints_for_init_and_resume_are_refused(kind, tmp_path, capsys):
    args = ["train", "--data", str(PHOTOS), "--style", str(STARRY_NIGHT), "--image-size", "32", "--steps", "2",
            "--workers", "0", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    ckpt = tmp_path / "a" / "checkpoints" / "last.pt"
    if kind == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:2000])
    else:
        torch.save({"format": "preserve.checkpoint/1", "payload": Payload()}, ckpt)
    capsys.readouterr()
    line = _error(capsys, *args, "--init", str(ckpt), "--out", str(tmp_path / "b"), match="--init")
    assert "not a readable preserve checkpoint" in line and "pickle payload ran" not in capsys.readouterr().out
    _error(capsys, "train", "--resume", "--out", str(tmp_path / "a"), "--steps", "4", match="--resume")


# -- recipes and options --------------------------------------------------------------------------------------
def test_recipe_and_option_errors_are_one_line(tmp_path, capsys):
    train = ["train", "--data", str(PHOTOS), "--image-size", "32", "--steps", "1", "--workers", "0",
             "--no-progress", "--out", str(tmp_path / "r")]
    recipe = tmp_path / "r.yaml"
    recipe.write_text("content: 1.0\nstyle: {image: missing.jpg}\n")
    _error(capsys, *train, "--recipe", str(recipe), match="term 'style'")
    _error(capsys, *train, "--style", "starry_night", match="shipped style model")
    _error(capsys, *train, "--style", str(STARRY_NIGHT), "--weight", "tv=nan", match="must be finite")
    _error(capsys, *train[:-2], "--style", str(STARRY_NIGHT), "--steps", "0", "--out", str(tmp_path / "z"),
           match="--steps must be at least 1")
    (tmp_path / "afile").write_text("x")
    _error(capsys, *train[:-2], "--style", str(STARRY_NIGHT), "--out", str(tmp_path / "afile" / "run"),
           match="is a file; --out must be a folder")
    _error(capsys, "stylize", "--optimize", "--style", str(STARRY_NIGHT), "--steps", "0", str(PHOTOS / "dog.jpg"),
           "--out", str(tmp_path / "o"), match="--steps must be at least 1")


def test_a_negative_weight_warns(tmp_path, capsys):
    code, err = _run(capsys, "train", "--data", str(PHOTOS), "--style", str(STARRY_NIGHT), "--image-size", "32",
                     "--steps", "1", "--workers", "0", "--no-progress", "--weight", "tv=-1",
                     "--out", str(tmp_path / "neg"))
    assert code == 0 and "preserve: warning: term 'tv' has a negative weight" in err


def test_stylize_output_and_input_folders(model_file, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    _error(capsys, "stylize", "--model", str(model_file), str(tmp_path / "empty"), "--out", str(tmp_path / "o"),
           match="no images found")
    (tmp_path / "afile").write_text("x")
    _error(capsys, "stylize", "--model", str(model_file), str(PHOTOS / "dog.jpg"), "--out", str(tmp_path / "afile"),
           match="--out must be a folder")


def test_a_mistyped_option_shows_the_subcommand_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["stylize", "--sise", "3", "x.jpg"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("usage: preserve stylize") and "--sise" in err


def test_ctrl_c_during_a_folder_stylize_keeps_what_was_written(model_file, tmp_path, capsys, monkeypatch):
    import preserve.stylize as stylize_module

    calls = []
    original = stylize_module.stylize_tensor

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(stylize_module, "stylize_tensor", interrupt_second)
    code, err = _run(capsys, "stylize", "--model", str(model_file), str(PHOTOS), "--out", str(tmp_path / "c"),
                     "--size", "32", "--no-progress")
    assert code == 130 and err.strip().splitlines()[-1] == "preserve: interrupted"
    written = list((tmp_path / "c").iterdir())
    assert len(written) == 1 and Image.open(written[0]).size[0] > 0  # the finished image is whole
