"""Stylizing video files, frame by frame, streamed: ``preserve stylize clip.mp4`` (needs ``preserve[video]``).

Frames are decoded, stylized and encoded one at a time with PyAV (FFmpeg), so memory does not grow with the
clip's length. The frame rate and every frame's timestamp are kept, and the first audio stream is copied
into the output as it is (no re-encoding). A frame goes through the same steps as a photo in
:func:`preserve.stylize.stylize`: optional resize, the network (any backend, style or blend), ``strength``
and ``preserve_color``; ``temporal_smoothing`` optionally blends each output with the previous one.

Output codecs: H.264 (yuv420p) for .mp4, .mov, .mkv and .avi, VP9 for .webm. Odd widths or heights lose
their last row or column, which 4:2:0 chroma cannot hold.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import torch

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v"})
_CODECS = {".webm": "libvpx-vp9"}


class VideoReadError(ValueError):
    """A video that cannot be read (missing, truncated, no video stream); the message names the file."""


def is_video_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def require_av() -> Any:
    """The PyAV module, or an ImportError that names the extra to install."""
    try:
        import av
    except ImportError:
        raise ImportError("reading and writing video needs PyAV: pip install 'preserve[video]'") from None
    return av


@dataclass
class VideoReport:
    """What :func:`stylize_video` wrote: frames, frame rate, size and whether audio was copied."""

    path: Path
    frames: int
    fps: float
    size: tuple[int, int]  # (width, height)
    audio: bool


def _even(n: int) -> int:
    return max(2, n - n % 2)


def stylize_video(frame_fn: Callable[[torch.Tensor], torch.Tensor], src: str | os.PathLike[str],
                  dst: str | os.PathLike[str], *, size: int | None = None, temporal_smoothing: float = 0.0,
                  progress: bool = True) -> VideoReport:
    """Stylize every frame of ``src`` with ``frame_fn`` (``(3, H, W)`` in [0, 1] to the same) into ``dst``.

    ``size`` scales the longer side of the frames; ``temporal_smoothing`` in [0, 1) blends each stylized
    frame with the previous output (0: off). The output is written to a temporary file beside ``dst`` and
    renamed when complete, so an interrupted run never leaves a half-written clip under the final name.
    """
    av = require_av()
    from .imageio import fit_size, resize

    if not 0.0 <= temporal_smoothing < 1.0:
        raise ValueError(f"--temporal-smoothing must be in [0, 1), got {temporal_smoothing}")
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"video not found: {src}")
    try:
        source = av.open(str(src))
    except av.error.FFmpegError as exc:
        raise VideoReadError(f"{src}: cannot read this video ({exc})") from None
    tmp = dst.with_name(f".{dst.stem}.partial{os.getpid()}{dst.suffix}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    frames, previous, out = 0, None, None
    try:
        video = next((s for s in source.streams if s.type == "video"), None)
        if video is None:
            raise VideoReadError(f"{src}: no video stream in this file")
        audio = next((s for s in source.streams if s.type == "audio"), None)
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        out = av.open(str(tmp), "w")
        shape = (video.codec_context.height, video.codec_context.width)
        if size is not None:
            shape = fit_size(shape, size)
        target = (_even(shape[1]), _even(shape[0]))  # set before the first packet is written opens the codecs
        encoder = out.add_stream(_CODECS.get(dst.suffix.lower(), "libx264"), rate=rate)
        encoder.width, encoder.height = target
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = video.time_base
        copied = out.add_stream_from_template(audio) if audio is not None else None
        total = video.frames or None
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=f"stylize {src.name}", unit="frame", dynamic_ncols=True)
        damaged = None
        packets = source.demux(*(s for s in (video, audio) if s is not None))
        while True:
            try:
                packet = next(packets)
                decoded = [] if packet.stream is audio else packet.decode()
            except StopIteration:
                break
            except av.error.FFmpegError as exc:  # a damaged or truncated file: keep what was decoded
                damaged = str(exc)
                break
            if packet.stream is audio:
                if packet.dts is not None:
                    packet.stream = copied
                    out.mux(packet)
                continue
            for frame in decoded:
                rgb = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255.0
                if tuple(rgb.shape[-2:]) != shape:
                    rgb = resize(rgb, shape)
                styled = frame_fn(rgb)[:, :target[1], :target[0]].float().clamp(0, 1)
                if previous is not None and temporal_smoothing > 0:
                    styled = (1 - temporal_smoothing) * styled + temporal_smoothing * previous
                previous = styled
                pixels = (styled * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
                new = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
                new.pts, new.time_base = frame.pts, frame.time_base
                for encoded in encoder.encode(new):
                    out.mux(encoded)
                frames += 1
                if bar is not None:
                    bar.update(1)
        if frames == 0:
            raise VideoReadError(f"{src}: no frame could be decoded" + (f" ({damaged})" if damaged else ""))
        for encoded in encoder.encode():
            out.mux(encoded)
        if bar is not None:
            bar.close()
        if damaged or (total and frames < total):
            import warnings

            warnings.warn(f"{src}: the video is damaged or truncated: {frames} of {total or '?'} frame(s) "
                          f"decoded and written{f' ({damaged})' if damaged else ''}", stacklevel=2)
    finally:
        source.close()
        if out is not None:
            out.close()
        if not frames and tmp.exists():
            tmp.unlink()
    tmp.replace(dst)
    return VideoReport(dst, frames, float(rate), target, audio is not None)


def read_frames(path: str | os.PathLike[str], limit: int | None = None) -> list[torch.Tensor]:
    """The first ``limit`` frames of a video as ``(3, H, W)`` tensors in [0, 1] (for measurements and tests)."""
    av = require_av()
    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255.0)
                if limit is not None and len(frames) >= limit:
                    break
    except av.error.FFmpegError as exc:
        raise VideoReadError(f"{path}: cannot read this video ({exc})") from None
    return frames


def write_video(frames: list[torch.Tensor], path: str | os.PathLike[str], fps: int = 12,
                tone_hz: float | None = None, sample_rate: int = 22050) -> Path:
    """Encode ``(3, H, W)`` frames in [0, 1] as a video (codec by suffix, as :func:`stylize_video` writes),
    with a sine tone of ``tone_hz`` as its audio track when given: clips for examples and tests."""
    import math

    import numpy as np

    av = require_av()
    path = Path(path)
    height, width = frames[0].shape[-2:]
    with av.open(str(path), "w") as out:
        video = out.add_stream(_CODECS.get(path.suffix.lower(), "libx264"), rate=fps)
        video.width, video.height, video.pix_fmt = _even(width), _even(height), "yuv420p"
        audio = out.add_stream("aac" if path.suffix.lower() != ".webm" else "libopus", rate=sample_rate) \
            if tone_hz else None
        for frame in frames:
            pixels = (frame[:, :video.height, :video.width].clamp(0, 1) * 255 + 0.5).to(torch.uint8)
            picture = av.VideoFrame.from_ndarray(pixels.permute(1, 2, 0).contiguous().numpy(), format="rgb24")
            for packet in video.encode(picture.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            samples = int(sample_rate * len(frames) / fps)
            wave = (0.3 * np.sin(2 * math.pi * tone_hz * np.arange(samples) / sample_rate)).astype(np.float32)[None]
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(wave[:, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = sample_rate, start
                for packet in audio.encode(chunk):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return path
