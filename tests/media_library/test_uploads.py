"""Uploads through the pages: real media in, generated names on disk, bad input refused with nothing left."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.urls import reverse

from media_library.models import AudioTrack, MediaStatus, Presenter, PresenterKind
from tests.media_library.conftest import files_under, upload_file

PRESENTER_UPLOAD = "media_library:presenter_upload"
AUDIO_UPLOAD = "media_library:audio_upload"


@pytest.fixture
def queued(media_root, clean_queues, django_capture_on_commit_callbacks):
    """post(client, url, data) with on-commit callbacks (the enqueue) executed, like a real request."""

    def post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def test_presenter_video_upload_is_stored_under_a_generated_name_and_queued(
    users, login, media_samples, queued, media_root, caplog
):
    client = login(users["manager"])
    caplog.set_level(logging.INFO, logger="audit")
    data = {"files": upload_file(media_samples["clip"], "Anna intro.mp4"), "title": "Anna", "tags": "sales, HR policy"}
    response = queued(client, reverse(PRESENTER_UPLOAD), data)
    presenter = Presenter.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "media_library:presenter_detail", args=[presenter.pk]
    )
    assert presenter.status == MediaStatus.PENDING
    assert presenter.kind == PresenterKind.VIDEO
    assert presenter.original_filename == "Anna intro.mp4"
    assert sorted(presenter.tags.values_list("name", flat=True)) == ["HR policy", "sales"]
    assert presenter.file.name.startswith(f"departments/{presenter.department_id}/presenters/")
    assert "Anna" not in presenter.file.name and presenter.file.name.endswith(".mp4")
    assert files_under(media_root) == [media_root / presenter.file.name]
    assert presenter.size_bytes == media_samples["clip"].stat().st_size
    assert presenter.ingest_job_id and presenter.ingest_attempts == 1
    import django_rq

    assert presenter.ingest_job_id in django_rq.get_queue("ingest").job_ids
    uploads = [r.message for r in caplog.records if "audit presenter.upload" in r.message]
    assert len(uploads) == 1  # (the login before it is audited too)


def test_several_presenters_in_one_upload(users, login, media_samples, queued):
    client = login(users["dept_admin"])
    files = [upload_file(media_samples["clip"], "one.mp4"), upload_file(media_samples["photo"], "two.jpg")]
    response = queued(client, reverse(PRESENTER_UPLOAD), {"files": files})
    assert response.status_code == 302
    kinds = dict(Presenter.objects.values_list("original_filename", "kind"))
    assert kinds == {"one.mp4": PresenterKind.VIDEO, "two.jpg": PresenterKind.PHOTO}


def test_audio_upload(users, login, media_samples, queued, media_root):
    client = login(users["hr"])
    data = {"file": upload_file(media_samples["speech_m4a"], "policy.m4a"), "title": "Policy", "language": "en"}
    response = queued(client, reverse(AUDIO_UPLOAD), data)
    track = AudioTrack.objects.get()
    assert response.status_code == 302
    assert track.file.name.endswith(".m4a") and track.language == "en" and track.audio_codec == "aac"
    assert files_under(media_root) == [media_root / track.file.name]


BAD_PRESENTERS = [
    ("empty", "is empty (0 bytes)"),
    ("random", "could not be read as audio or video"),
    ("truncated", "could not be read as audio or video"),
    ("speech", "has no picture (it is audio only)"),
    ("wide", "is 4200x128; the largest accepted picture is 4096x4096"),
    ("tiny", "is only 16x16 pixels"),
]


@pytest.mark.parametrize(("sample", "message"), BAD_PRESENTERS)
def test_bad_presenter_uploads_are_refused_and_leave_nothing(
    sample, message, users, login, media_samples, queued, media_root
):
    client = login(users["manager"])
    response = queued(client, reverse(PRESENTER_UPLOAD), {"files": upload_file(media_samples[sample], "mine.mp4")})
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text, text
    assert "mine.mp4" in text and ".upload-" not in text
    assert not Presenter.objects.exists()
    assert files_under(media_root) == []


BAD_AUDIO = [
    ("empty", "is empty (0 bytes)"),
    ("random", "could not be read as audio or video"),
    ("silent_clip", "has no sound (it is a video without an audio track)"),
    ("photo", "is a picture, not audio"),
]


@pytest.mark.parametrize(("sample", "message"), BAD_AUDIO)
def test_bad_audio_uploads_are_refused_and_leave_nothing(
    sample, message, users, login, media_samples, queued, media_root
):
    client = login(users["hr"])
    response = queued(client, reverse(AUDIO_UPLOAD), {"file": upload_file(media_samples[sample], "voice.wav")})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AudioTrack.objects.exists()
    assert files_under(media_root) == []


def test_over_long_media_is_refused(users, login, media_samples, queued, media_root, settings):
    settings.MAX_MEDIA_DURATION_S = 1.0
    client = login(users["manager"])
    response = queued(client, reverse(PRESENTER_UPLOAD), {"files": upload_file(media_samples["clip"], "long.mp4")})
    assert response.status_code == 400
    assert "long.mp4 lasts 0.0 minutes; the limit is 0 minutes" in response.content.decode()
    assert files_under(media_root) == []


def test_over_size_limit_is_refused_before_writing(users, login, media_samples, queued, media_root, settings):
    settings.MAX_AUDIO_UPLOAD_BYTES = 1000
    client = login(users["hr"])
    response = queued(client, reverse(AUDIO_UPLOAD), {"file": upload_file(media_samples["speech"], "big.wav")})
    assert response.status_code == 400
    assert "the largest accepted audio file is 1000\xa0bytes" in response.content.decode()
    assert files_under(media_root) == []


def test_department_quota(users, login, media_samples, queued, media_root, departments, make_track):
    make_track(departments["hr"], size_bytes=10_000)
    departments["hr"].storage_quota_bytes = 10_000 + media_samples["clip"].stat().st_size - 1
    departments["hr"].save()
    client = login(users["manager"])
    before = set(files_under(media_root))
    response = queued(client, reverse(PRESENTER_UPLOAD), {"files": upload_file(media_samples["clip"], "q.mp4")})
    assert response.status_code == 400
    text = response.content.decode()
    assert "q.mp4" in text and "does not fit: Human Resources uses 9.8\xa0KB of its" in text
    assert "Delete media you no longer need" in text
    assert set(files_under(media_root)) == before
    departments["hr"].storage_quota_bytes += 1
    departments["hr"].save()
    assert queued(client, reverse(PRESENTER_UPLOAD), {"files": upload_file(media_samples["clip"])}).status_code == 302


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/evil.mp4",
        "..\\..\\windows\\evil.mp4",
        "演示 视频 ✓.mp4",
        "$(touch pwned); rm -rf ~ `id` |x.mp4",
        "con.mp4",
        ".hidden",
        "a" * 300 + ".mp4",
    ],
)
def test_hostile_filenames_are_harmless(
    name, users, media_samples, media_root, clean_queues, tmp_path, django_capture_on_commit_callbacks, monkeypatch
):
    from media_library import services

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with django_capture_on_commit_callbacks(execute=True):
        presenter = services.upload_presenter(
            user=users["manager"],
            department=users["manager"].memberships.get().department,
            uploaded=upload_file(media_samples["clip"], name),
        )
    stored = files_under(media_root)
    assert stored == [media_root / presenter.file.name]
    assert Path(presenter.file.name).stem.isalnum()
    assert "/" not in presenter.original_filename and "\\" not in presenter.original_filename
    assert presenter.title and len(presenter.title) <= 200
    assert not any(cwd.iterdir())


def test_queue_down_answers_503_and_keeps_nothing(users, login, media_samples, media_root, monkeypatch):
    from portal import queues

    monkeypatch.setattr(queues, "queue_is_available", lambda name="default": False)
    client = login(users["manager"])
    response = client.post(reverse(PRESENTER_UPLOAD), {"files": upload_file(media_samples["clip"])})
    assert response.status_code == 503
    assert "queue" in response.content.decode() and "Nothing was saved" in response.content.decode()
    assert not Presenter.objects.exists()
    assert files_under(media_root) == []
    client = login(users["hr"])
    response = client.post(
        reverse("media_library:audio_tts"), {"title": "t", "text": "hi", "language": "en", "rate": 150}
    )
    assert response.status_code == 503 and not AudioTrack.objects.exists()
