"""Ready-to-use media rows for job tests, built from real generated media (no ingest shortcuts in the
files themselves: real MP4s, real espeak-ng speech, real face tracks computed by the engine)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from media_library.models import AudioTrack, MediaStatus, Presenter

_CACHE = Path(__file__).resolve().parents[2] / "var" / "test-media"


def _cached(name: str, make) -> Path:
    """Generated media is made once per checkout (deterministic) and copied into each test's MEDIA_ROOT."""
    _CACHE.mkdir(parents=True, exist_ok=True)
    path = _CACHE / name
    if not path.exists():
        tmp = path.with_name(f".{uuid.uuid4().hex}{path.suffix}")
        make(tmp)
        tmp.rename(path)
    return path


def speech_file() -> Path:
    from synthesis.samples import make_speech

    return _cached(
        "speech-v1.wav",
        lambda p: make_speech(p, "Please read the new travel policy. Every trip needs approval before booking."),
    )


def presenter_file() -> Path:
    from synthesis.samples import make_presenter_clip

    return _cached("presenter-v1.mp4", lambda p: make_presenter_clip(p, seconds=2.0, width=320, height=240))


def face_track_file() -> Path:
    from synthesis.facetrack import analyse_video

    return _cached("presenter-v1.track.npz", lambda p: analyse_video(presenter_file()).save(p))


def _place(media_root: Path, department_id: int, kind: str, source: Path) -> str:
    name = f"departments/{department_id}/{kind}/{uuid.uuid4().hex}{source.suffix}"
    target = media_root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return name


@pytest.fixture
def make_audio(media_root):
    def make(department, title: str = "Travel policy") -> AudioTrack:
        from synthesis.hashing import file_sha256
        from synthesis.probe import probe_media

        source = speech_file()
        return AudioTrack.objects.create(
            department=department,
            title=title,
            language="en",
            status=MediaStatus.READY,
            file=_place(media_root, department.pk, "audio", source),
            size_bytes=source.stat().st_size,
            content_hash=file_sha256(source),
            duration=probe_media(source).duration,
        )

    return make


@pytest.fixture
def make_presenter(media_root):
    def make(department, title: str = "Anna", corrupt: bool = False) -> Presenter:
        source = presenter_file()
        presenter = Presenter.objects.create(
            department=department,
            title=title,
            status=MediaStatus.READY,
            file=_place(media_root, department.pk, "presenters", source),
            face_track=_place(media_root, department.pk, "tracks", face_track_file()),
            size_bytes=source.stat().st_size,
            width=320,
            height=240,
            fps=25.0,
            duration=2.0,
        )
        if corrupt:  # damaged on disk after ingest: the engine must fail it with a reason, once
            path = Path(presenter.file.path)
            path.write_bytes(path.read_bytes()[:2000])
        return presenter

    return make


@pytest.fixture
def media_set(departments, make_audio, make_presenter):
    """HR's audio and three presenters, Sales' audio and one presenter."""
    hr, sales = departments["hr"], departments["sales"]
    return {
        "audio": make_audio(hr),
        "presenters": [make_presenter(hr, t) for t in ("Anna", "Ben", "Chen")],
        "sales_audio": make_audio(sales, "Sales kickoff"),
        "sales_presenter": make_presenter(sales, "Dana"),
    }
