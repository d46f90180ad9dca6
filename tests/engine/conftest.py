"""Real media for the engine tests, made once per session with ffmpeg, espeak-ng and the astronaut photo.

Fixture names are shared by every engine test module (probe, audio, face track, warp, quality, wav2lip):
paths are returned as pathlib.Path; nothing here is mocked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from synthesis import samples

SHORT_TEXT = "Hello there. Please read the new travel guidelines carefully before you book."


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_wav(media_dir) -> Path:
    """About 5 s of English speech, 16 kHz mono WAV (longer than presenter_clip: ping-pong)."""
    return samples.make_speech(media_dir / "speech.wav", text=SHORT_TEXT)


@pytest.fixture(scope="session")
def long_speech_wav(media_dir) -> Path:
    """About 12 s of English speech at 22.05 kHz (the sample text of synthesis.samples)."""
    return samples.make_speech(media_dir / "speech_long.wav", sample_rate=22050)


@pytest.fixture(scope="session")
def other_speech_wav(media_dir) -> Path:
    """An unrelated utterance, for 'scored against the wrong audio' checks."""
    text = "Numbers seven, nine and thirteen were drawn at the lottery on a windy Sunday afternoon."
    return samples.make_speech(media_dir / "speech_other.wav", text=text, rate_wpm=170)


@pytest.fixture(scope="session")
def presenter_clip(media_dir) -> Path:
    """4 s, 640x480 @ 25 fps H.264 with a quiet AAC tone; the astronaut with slight head motion."""
    return samples.make_presenter_clip(media_dir / "presenter.mp4", seconds=4.0)


@pytest.fixture(scope="session")
def presenter_clip_30fps(media_dir) -> Path:
    """3 s, 640x480 @ 30 fps, no audio track."""
    return samples.make_presenter_clip(media_dir / "presenter30.mp4", seconds=3.0, fps=30.0, with_audio=False)


@pytest.fixture(scope="session")
def rotated_clip(media_dir, presenter_clip) -> Path:
    """presenter_clip stored 640x480 with rotate=90 metadata: it displays as 480x640 portrait."""
    path = media_dir / "rotated.mp4"
    _ffmpeg("-i", str(presenter_clip), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    return path


@pytest.fixture(scope="session")
def presenter_photo(media_dir) -> Path:
    """A 640x480 JPEG portrait."""
    return samples.make_presenter_photo(media_dir / "presenter.jpg")


@pytest.fixture(scope="session")
def black_frames_clip(media_dir, presenter_clip) -> Path:
    """presenter_clip with frames 20-29 fully black (a cut to black mid-clip)."""
    path = media_dir / "black_frames.mp4"
    box = "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(n,20,29)'"
    _ffmpeg(
        "-i",
        str(presenter_clip),
        "-vf",
        box,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "copy",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def vfr_clip(media_dir, presenter_clip) -> Path:
    """Variable frame timing: every third frame arrives 15 ms late (like phone recordings)."""
    path = media_dir / "vfr.mkv"
    _ffmpeg(
        "-i",
        str(presenter_clip),
        "-vf",
        "setpts='(N/25+if(eq(mod(N,3),0),0.015,0))/TB'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-an",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def silent_wav(media_dir) -> Path:
    """3 s of digital silence (all zeros), 16 kHz mono."""
    path = media_dir / "silent.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", "-c:a", "pcm_s16le", str(path))
    return path


@pytest.fixture(scope="session")
def corrupt_mp4(media_dir) -> Path:
    """Random bytes with an .mp4 name."""
    path = media_dir / "corrupt.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    return path


@pytest.fixture(scope="session")
def truncated_mp4(media_dir, presenter_clip) -> Path:
    """The first 60% of presenter_clip (an upload cut short; its index is missing)."""
    data = presenter_clip.read_bytes()
    path = media_dir / "truncated.mp4"
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@pytest.fixture(scope="session")
def truncated_faststart_mp4(media_dir, presenter_clip) -> Path:
    """A +faststart MP4 cut at 50%: headers read fine, the second half of the media is gone."""
    full = media_dir / "faststart.mp4"
    _ffmpeg("-i", str(presenter_clip), "-c", "copy", "-movflags", "+faststart", str(full))
    data = full.read_bytes()
    path = media_dir / "truncated_faststart.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="session")
def empty_file(media_dir) -> Path:
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="session")
def audio_only_m4a(media_dir, speech_wav) -> Path:
    """speech_wav as AAC in an M4A container (no video stream)."""
    path = media_dir / "speech.m4a"
    _ffmpeg("-i", str(speech_wav), "-c:a", "aac", "-b:a", "96k", str(path))
    return path


@pytest.fixture
def tmp_out(tmp_path) -> Path:
    """An empty per-test output folder."""
    out = tmp_path / "out"
    out.mkdir()
    return out


def pytest_configure(config):
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise pytest.UsageError(f"{tool} is required for the engine tests")
