"""Video in preserve stylize: frames, size, frame rate and audio survive a round trip; bad input is named."""

from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np
import pytest
import torch

from helpers import PHOTOS
from preserve.cli import main
from preserve.models.transformer_net import TransformerNet
from preserve.stylize import save_model

av = pytest.importorskip("av", reason="the [video] extra (PyAV) is not installed")

from preserve.video import VideoReadError, read_frames, stylize_video, write_video  # noqa: E402


def make_clip(path, frames=10, fps=12, size=(64, 48), tone=True):
    """A clip of a photo panning one pixel per frame, with a 440 Hz tone when ``tone``."""
    from preserve.imageio import load_image, resize

    photo = resize(load_image(PHOTOS / "colosseum.jpg").rgb, (size[1], size[0] + frames))
    return write_video([photo[:, :, i:i + size[0]] for i in range(frames)], path, fps, 440.0 if tone else None)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=1)
    return save_model(net, tmp_path_factory.mktemp("m") / "model.pt")


def test_a_clip_with_a_tone_round_trips_through_the_cli(tmp_path, model):
    clip = make_clip(tmp_path / "clip.mp4")
    assert main(["stylize", "--model", str(model), str(clip), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    written = tmp_path / "out" / "clip.mp4"
    with av.open(str(written)) as container:
        video = container.streams.video[0]
        assert container.streams.audio, "the audio stream was dropped"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert (video.width, video.height) == (64, 48)
        assert video.average_rate == Fraction(12)
        audio_seconds = float(container.streams.audio[0].duration * container.streams.audio[0].time_base)
    frames = read_frames(written)
    assert len(frames) == 10 and frames[0].shape == (3, 48, 64)
    assert abs(audio_seconds - 10 / 12) < 0.1
    source = read_frames(clip)
    assert (frames[0] - source[0]).abs().mean() > 0.02  # stylized, not copied


def test_options_apply_to_every_frame(tmp_path, model):
    clip = make_clip(tmp_path / "clip.mp4", frames=4, tone=False)
    report = stylize_video(lambda rgb: rgb, clip, tmp_path / "copy.mp4", size=32, progress=False)
    assert report.frames == 4 and report.size == (32, 24) and not report.audio
    assert main(["stylize", "--model", str(model), str(clip), "--out", str(tmp_path / "s"), "--strength", "0",
                 "--no-progress"]) == 0
    same, original = read_frames(tmp_path / "s" / "clip.mp4"), read_frames(clip)
    assert max(float((a - b).abs().mean()) for a, b in zip(same, original)) < 0.03  # strength 0: the photo
    flicker = iter([1.0, 0.0, 1.0, 0.0])  # a frame function that flickers white, black, white, black
    stylize_video(lambda rgb: torch.full_like(rgb, next(flicker)), clip, tmp_path / "smooth.mp4",
                  temporal_smoothing=0.5, progress=False)
    means = [float(f.mean()) for f in read_frames(tmp_path / "smooth.mp4")]
    assert means == pytest.approx([1.0, 0.5, 0.75, 0.375], abs=0.03)


def test_bad_videos_get_a_clear_message(tmp_path, model, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:600])
    assert main(["stylize", "--model", str(model), str(truncated), "--out", str(tmp_path / "o")]) == 1
    assert "truncated.mp4" in capsys.readouterr().err
    tone_only = tmp_path / "tone.mp4"
    with av.open(str(tone_only), "w") as out:
        audio = out.add_stream("aac", rate=22050)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 22050, 0
        for packet in [*audio.encode(frame), *audio.encode()]:
            out.mux(packet)
    with pytest.raises(VideoReadError, match="no video stream"):
        stylize_video(lambda x: x, tone_only, tmp_path / "x.mp4", progress=False)
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(ValueError, match="temporal-smoothing"):
        stylize_video(lambda x: x, clip, tmp_path / "y.mp4", temporal_smoothing=1.0)


def test_a_missing_video_extra_names_the_extra(tmp_path, monkeypatch):
    from preserve.video import require_av

    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"preserve\[video\]"):
        require_av()
