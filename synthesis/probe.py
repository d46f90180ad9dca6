"""Read what a media file contains before any work is spent on it.

Every later stage trusts MediaInfo (display size after rotation, a usable frame rate, stream
presence), so the user gets one clear, typed error up front instead of a crash mid-render.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from synthesis.errors import (
    EngineFailure,
    NoAudioStream,
    NoVideoStream,
    OverLimit,
    UndecodableMedia,
    ZeroDuration,
)

_STILL_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif_pipe"}
_STILL_CODECS = {"png", "mjpeg", "bmp", "webp", "tiff", "gif"}
_DEFAULT_STILL_FPS = 25.0


@dataclass(frozen=True)
class MediaLimits:
    """Operator-configured ceilings; generous defaults so only absurd inputs are refused."""

    max_duration_s: float = 2 * 3600.0
    max_width: int = 4096
    max_height: int = 4096


@dataclass(frozen=True)
class MediaInfo:
    """What the engine needs to know about one input file. width/height are the DISPLAY size."""

    path: str
    container: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    rotation: int = 0
    fps: float = 0.0
    n_frames: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    is_still_image: bool = False


def _undecodable(path: str | Path, reason: str) -> UndecodableMedia:
    return UndecodableMedia(f"This file could not be read as audio or video: {Path(path).name} ({reason}).")


def _last_error_line(stderr: str, path: str | Path) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if not lines:
        return "unknown format"
    line = lines[-1].replace(str(path), Path(path).name)
    return line.split(": ", 1)[-1] if line.startswith(Path(path).name) else line


def _run_ffprobe(path: str | Path, timeout: float) -> dict:
    """ffprobe -show_format -show_streams, the same JSON ffmpeg.probe returns, but killable on timeout."""
    args = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise EngineFailure("ffprobe is not installed on this server.") from exc
    except subprocess.TimeoutExpired as exc:
        raise _undecodable(path, f"reading its headers took longer than {timeout:g} s") from exc
    if proc.returncode != 0:
        raise _undecodable(path, _last_error_line(proc.stderr.decode("utf-8", "replace"), path))
    try:
        return json.loads(proc.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        raise _undecodable(path, "the file headers are unreadable") from exc


def _rate(text: str | None) -> float:
    try:
        value = float(Fraction(text)) if text else 0.0
    except (ValueError, ZeroDivisionError):
        return 0.0
    return value if math.isfinite(value) and 0 < value < 1000 else 0.0


def _float(text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _rotation(stream: dict) -> int:
    """Clockwise degrees a player turns the picture (tags.rotate, or the display matrix)."""
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # the display matrix reports counter-clockwise degrees
            return int(round(-_float(side["rotation"]))) % 360
    return int(round(_float((stream.get("tags") or {}).get("rotate")))) % 360


def _pick(streams: list[dict], kind: str) -> dict | None:
    for stream in streams:
        if stream.get("codec_type") != kind:
            continue
        if kind == "video" and (stream.get("disposition") or {}).get("attached_pic"):
            continue  # cover art inside an audio file is not a video
        return stream
    return None


def _parse(path: str | Path, data: dict) -> MediaInfo:
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video, audio = _pick(streams, "video"), _pick(streams, "audio")
    container = str(fmt.get("format_name") or "")
    duration = _float(fmt.get("duration")) or max(
        (_float(s.get("duration")) for s in (video, audio) if s), default=0.0
    )
    info = dict(
        path=str(path),
        container=container,
        duration=duration,
        has_video=video is not None,
        has_audio=audio is not None,
    )
    if audio is not None:
        info.update(
            audio_codec=audio.get("codec_name"),
            audio_sample_rate=int(_float(audio.get("sample_rate"))) or None,
            audio_channels=int(audio.get("channels") or 0) or None,
        )
    if video is not None:
        rotation = _rotation(video)
        width, height = int(video.get("width") or 0), int(video.get("height") or 0)
        if rotation in (90, 270):
            width, height = height, width
        codec = video.get("codec_name")
        nb = int(_float(video.get("nb_frames")))
        still = container in _STILL_FORMATS or (codec in _STILL_CODECS and nb <= 1 and duration <= 0.05)
        fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
        if still:
            fps, n_frames = _DEFAULT_STILL_FPS, 1
        else:
            fps = fps or _DEFAULT_STILL_FPS
            n_frames = nb or int(round((_float(video.get("duration")) or duration) * fps))
        info.update(
            width=width,
            height=height,
            rotation=rotation,
            fps=fps,
            n_frames=n_frames,
            video_codec=codec,
            is_still_image=still,
        )
    return MediaInfo(**info)


def _check(info: MediaInfo, limits: MediaLimits) -> None:
    name = Path(info.path).name
    if not info.has_video and not info.has_audio:
        raise _undecodable(info.path, "it holds no audio or video stream")
    if info.has_video and (info.width <= 0 or info.height <= 0):
        raise _undecodable(info.path, "the video stream has no picture size")
    if not info.is_still_image and info.duration <= 0:
        raise ZeroDuration(f"{name} is empty: it lasts 0 seconds.")
    if info.duration > limits.max_duration_s:
        raise OverLimit(
            f"{name} lasts {info.duration / 60:.1f} minutes; "
            f"the limit is {limits.max_duration_s / 60:.0f} minutes."
        )
    if info.has_video and (info.width > limits.max_width or info.height > limits.max_height):
        raise OverLimit(
            f"{name} is {info.width}x{info.height}; the largest accepted picture is "
            f"{limits.max_width}x{limits.max_height}."
        )


def verify_decodes(info: MediaInfo, timeout: float = 30) -> None:
    """Decode the first second and the last second, so corrupt or truncated files fail now, not mid-job."""
    starts = [0.0]
    if not info.is_still_image and info.duration > 2.0:
        starts.append(max(0.0, info.duration - 1.0))
    for start in starts:
        args = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{start:.3f}", "-i", info.path, "-t", "1"]
        args += ["-map", "0:v:0?", "-map", "0:a:0?", "-f", "null", "-"]
        try:
            proc = subprocess.run(args, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise _undecodable(info.path, f"decoding took longer than {timeout:g} s") from exc
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0 or stderr.strip():
            raise _undecodable(
                info.path, "the file is damaged or incomplete: " + _last_error_line(stderr, info.path)
            )


def probe_media(
    path: str | Path, limits: MediaLimits | None = None, timeout: float = 30, verify_decode: bool = False
) -> MediaInfo:
    """Probe a file and refuse unusable input with a typed, human-readable error."""
    path = Path(path)
    if not path.is_file():
        raise _undecodable(path, "the file does not exist")
    if os.path.getsize(path) == 0:
        raise _undecodable(path, "the file is empty, 0 bytes")
    info = _parse(path, _run_ffprobe(path, timeout))
    _check(info, limits or MediaLimits())
    if verify_decode:
        verify_decodes(info, timeout)
    return info


def require_video(info: MediaInfo) -> MediaInfo:
    """The presenter input must have a picture."""
    if not info.has_video:
        raise NoVideoStream(
            f"{Path(info.path).name} has no video picture; a presenter video or photo is needed."
        )
    return info


def require_audio(info: MediaInfo) -> MediaInfo:
    """The driving input must have sound."""
    if not info.has_audio:
        raise NoAudioStream(
            f"{Path(info.path).name} has no sound track; an audio file with speech is needed."
        )
    return info
