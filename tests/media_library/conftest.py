"""Real sample media for the media library tests (made once per session) and row factories.

Clips are short and small (2 s, 320x240) so ingest stays quick on a 2-core machine; nothing is mocked.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from synthesis import samples


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_samples(tmp_path_factory) -> dict[str, Path]:
    """Every good and bad file the tests upload, by name."""
    d = tmp_path_factory.mktemp("library-samples")
    out = {
        "clip": samples.make_presenter_clip(d / "clip.mp4", seconds=2, width=320, height=240),
        "silent_clip": samples.make_presenter_clip(
            d / "silent.mp4", seconds=2, width=320, height=240, with_audio=False
        ),
        "photo": samples.make_presenter_photo(d / "photo.jpg", width=320, height=240),
        "speech": samples.make_speech(d / "speech.wav", text="Hello. Please read the new travel guidelines."),
    }
    ffmpeg("-i", str(out["speech"]), "-c:a", "aac", str(d / "speech.m4a"))
    out["speech_m4a"] = d / "speech.m4a"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-pix_fmt", "yuv420p", str(d / "noface.mp4"))
    out["noface"] = d / "noface.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=4200x128:rate=5:duration=1", "-c:v", "mpeg4", str(d / "wide.mp4"))
    out["wide"] = d / "wide.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=16x16:rate=5:duration=1", "-pix_fmt", "yuv420p", str(d / "tiny.mp4"))
    out["tiny"] = d / "tiny.mp4"
    (d / "empty.mp4").write_bytes(b"")
    out["empty"] = d / "empty.mp4"
    (d / "random.mp4").write_bytes(os.urandom(64 * 1024))
    out["random"] = d / "random.mp4"
    data = out["clip"].read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    out["truncated"] = d / "truncated.mp4"
    return out


def upload_file(path: Path, name: str | None = None, content_type: str = "application/octet-stream"):
    """An upload as the browser sends it, under any name (the name must never matter)."""
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def files_under(root: Path) -> list[Path]:
    return [Path(dirpath) / f for dirpath, _dirs, names in os.walk(root) for f in names]


@pytest.fixture
def make_presenter(media_root):
    """make_presenter(department, **fields) -> a READY presenter whose files hold known bytes."""
    from media_library.models import MediaStatus, Presenter, department_path

    def make(department, **fields) -> Presenter:
        names = {}
        for field, (kind, suffix, data) in {
            "file": ("presenters", ".mp4", b"original-" + os.urandom(2000)),
            "thumbnail": ("thumbnails", ".jpg", b"\xff\xd8thumbnail"),
            "preview": ("previews", ".mp4", bytes(range(256)) * 40),
            "face_track": ("facetracks", ".npz", b"npz"),
        }.items():
            names[field] = department_path(department.pk, kind, suffix)
            path = media_root / names[field]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        defaults = dict(title="Anna at the desk", original_filename="anna.mp4", status=MediaStatus.READY, size_bytes=1)
        return Presenter.objects.create(department=department, **names, **{**defaults, **fields})

    return make


@pytest.fixture
def make_track(media_root):
    """make_track(department, **fields) -> a READY audio track with known files."""
    from media_library.models import AudioTrack, MediaStatus, department_path

    def make(department, **fields) -> AudioTrack:
        names = {}
        for field, (kind, suffix, data) in {
            "file": ("audio", ".wav", b"RIFF-original" + os.urandom(500)),
            "analysis_copy": ("analysis", ".wav", b"RIFF-analysis"),
            "waveform": ("waveforms", ".png", b"\x89PNG waveform"),
        }.items():
            names[field] = department_path(department.pk, kind, suffix)
            path = media_root / names[field]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        defaults = dict(title="Policy update", original_filename="policy.wav", status=MediaStatus.READY, size_bytes=1)
        return AudioTrack.objects.create(department=department, **names, **{**defaults, **fields})

    return make
