"""Who may see and change what: cross-department 404s, the role matrix, file serving (Range, X-Accel-Redirect),
download auditing, and archive-instead-of-delete for media used by jobs."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from media_library.models import AudioTrack, Presenter
from tests.helpers import assert_cross_department_404
from tests.media_library.conftest import files_under


def presenter_urls(pk: int) -> list[str]:
    return [
        reverse("media_library:presenter_detail", args=[pk]),
        reverse("media_library:presenter_edit", args=[pk]),
        *(reverse("media_library:presenter_file", args=[pk, what]) for what in ("thumbnail", "preview", "original")),
        *(reverse(f"media_library:{name}", args=["presenter", pk]) for name in ("remove", "restore", "reanalyse")),
    ]


def audio_urls(pk: int) -> list[str]:
    return [
        reverse("media_library:audio_detail", args=[pk]),
        reverse("media_library:audio_edit", args=[pk]),
        *(reverse("media_library:audio_file", args=[pk, what]) for what in ("waveform", "listen", "original")),
        *(reverse(f"media_library:{name}", args=["audio", pk]) for name in ("remove", "restore", "reanalyse")),
    ]


def test_other_departments_media_is_404_everywhere(users, login, departments, make_presenter, make_track):
    presenter = make_presenter(departments["sales"])
    track = make_track(departments["sales"])
    for key in ("manager", "hr", "auditor", "dept_admin"):
        client = login(users[key])
        assert_cross_department_404(client, presenter_urls(presenter.pk) + audio_urls(track.pk))
        assert_cross_department_404(
            client, [reverse("media_library:presenter_file", args=[presenter.pk + 999, "original"])]
        )
        listing = client.get(reverse("media_library:presenters")).content.decode()
        assert presenter.title not in listing
    assert Presenter.objects.filter(pk=presenter.pk, archived_at__isnull=True).exists()
    assert AudioTrack.objects.filter(pk=track.pk).exists()


def test_library_lists_only_the_active_department(users, login, departments, make_presenter):
    make_presenter(departments["hr"], title="HR face")
    make_presenter(departments["sales"], title="Sales face")
    client = login(users["two_departments"])
    client.post(reverse("switch_department", args=["hr"]))
    page = client.get(reverse("media_library:presenters")).content.decode()
    assert "HR face" in page and "Sales face" not in page
    client.post(reverse("switch_department", args=["sales"]))
    page = client.get(reverse("media_library:presenters")).content.decode()
    assert "Sales face" in page and "HR face" not in page


def test_auditor_reads_but_changes_nothing(users, login, departments, make_presenter, make_track, media_root):
    presenter = make_presenter(departments["hr"])
    track = make_track(departments["hr"])
    client = login(users["auditor"])
    for url in (
        reverse("media_library:presenter_detail", args=[presenter.pk]),
        reverse("media_library:audio_detail", args=[track.pk]),
        reverse("media_library:presenters"),
        reverse("media_library:audio"),
        reverse("media_library:presenter_file", args=[presenter.pk, "thumbnail"]),
        reverse("media_library:audio_file", args=[track.pk, "waveform"]),
    ):
        assert client.get(url).status_code == 200, url
    mutating = [
        reverse("media_library:presenter_upload"),
        reverse("media_library:audio_upload"),
        reverse("media_library:audio_tts"),
        *presenter_urls(presenter.pk)[1:2],
        *presenter_urls(presenter.pk)[5:],
        *audio_urls(track.pk)[1:2],
        *audio_urls(track.pk)[5:],
    ]
    for url in mutating:
        for method in ("get", "post"):
            assert getattr(client, method)(url).status_code in (403, 404), f"{method} {url}"
    assert len(files_under(media_root)) == 7
    assert Presenter.objects.get().archived_at is None


def test_hr_cannot_manage_presenters_and_manager_cannot_manage_audio(
    users, login, departments, make_presenter, make_track
):
    presenter = make_presenter(departments["hr"])
    track = make_track(departments["hr"])
    hr = login(users["hr"])
    assert hr.get(reverse("media_library:presenter_upload")).status_code == 403
    assert hr.post(reverse("media_library:presenter_edit", args=[presenter.pk]), {"title": "x"}).status_code == 403
    assert hr.post(reverse("media_library:remove", args=["presenter", presenter.pk])).status_code == 403
    assert hr.get(reverse("media_library:audio_upload")).status_code == 200
    assert hr.get(reverse("media_library:audio_tts")).status_code == 200
    manager = login(users["manager"])
    assert manager.get(reverse("media_library:audio_upload")).status_code == 403
    assert manager.get(reverse("media_library:audio_tts")).status_code == 403
    assert manager.post(reverse("media_library:remove", args=["audio", track.pk])).status_code == 403
    assert manager.get(reverse("media_library:presenter_upload")).status_code == 200
    page = manager.get(reverse("media_library:audio")).content.decode()
    assert reverse("media_library:audio_upload") not in page


def test_edit_presenter(users, login, departments, make_presenter, caplog):
    presenter = make_presenter(departments["hr"])
    client = login(users["manager"])
    caplog.set_level(logging.INFO, logger="audit")
    response = client.post(
        reverse("media_library:presenter_edit", args=[presenter.pk]),
        {"title": "New title", "tags": "sales, onboarding", "description": "d"},
    )
    assert response.status_code == 302
    presenter.refresh_from_db()
    assert presenter.title == "New title"
    assert sorted(presenter.tags.values_list("name", flat=True)) == ["onboarding", "sales"]
    assert [r.message for r in caplog.records if "presenter.edit" in r.message].__len__() == 1
    page = client.get(reverse("media_library:presenters") + "?tag=onboarding").content.decode()
    assert "New title" in page
    assert "New title" not in client.get(reverse("media_library:presenters") + "?tag=other").content.decode()
    assert "New title" in client.get(reverse("media_library:presenters") + "?q=new").content.decode()


# ----------------------------------------------------------------------------------------------- file serving
def test_range_requests(users, login, departments, make_presenter):
    presenter = make_presenter(departments["hr"])
    data = presenter.preview.read()
    url = reverse("media_library:presenter_file", args=[presenter.pk, "preview"])
    client = login(users["auditor"])

    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/mp4"
    assert int(whole["Content-Length"]) == len(data) and b"".join(whole.streaming_content) == data

    part = client.get(url, HTTP_RANGE="bytes=100-299")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-299/{len(data)}" and part["Content-Length"] == "200"
    assert b"".join(part.streaming_content) == data[100:300]

    open_ended = client.get(url, HTTP_RANGE=f"bytes={len(data) - 10}-")
    assert b"".join(open_ended.streaming_content) == data[-10:]
    suffix = client.get(url, HTTP_RANGE="bytes=-5")
    assert suffix.status_code == 206 and b"".join(suffix.streaming_content) == data[-5:]
    clipped = client.get(url, HTTP_RANGE=f"bytes=0-{len(data) * 2}")
    assert clipped.status_code == 206 and b"".join(clipped.streaming_content) == data

    for bad in (f"bytes={len(data)}-", "bytes=500-100", "bytes=abc", "bytes=-0"):
        response = client.get(url, HTTP_RANGE=bad)
        assert response.status_code == 416, bad
        assert response["Content-Range"] == f"bytes */{len(data)}"
    assert client.get(url, HTTP_RANGE="bytes=0-1,5-6").status_code == 200  # several ranges: whole file


def test_x_accel_redirect_mode(users, login, departments, make_presenter, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    presenter = make_presenter(departments["hr"])
    client = login(users["manager"])
    response = client.get(reverse("media_library:presenter_file", args=[presenter.pk, "thumbnail"]))
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/{presenter.thumbnail.name}"
    assert response["Content-Type"] == "image/jpeg"
    original = client.get(reverse("media_library:presenter_file", args=[presenter.pk, "original"]))
    assert original["X-Accel-Redirect"] == f"/protected-media/{presenter.file.name}"
    assert original["Content-Disposition"] == 'attachment; filename="anna.mp4"'


def test_original_download_is_an_audited_attachment(users, login, departments, make_track, caplog):
    track = make_track(departments["hr"], original_filename="Quartalsbericht Ü.wav")
    client = login(users["auditor"])
    caplog.set_level(logging.INFO, logger="audit")
    url = reverse("media_library:audio_file", args=[track.pk, "original"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''Quartalsbericht%20%C3%9C.wav")
    assert b"".join(response.streaming_content) == track.file.read()
    client.get(url, HTTP_RANGE="bytes=100-")  # a resumed download is not a second download
    downloads = [r.message for r in caplog.records if "media.download" in r.message]
    assert len(downloads) == 1 and "hr_auditor" in downloads[0]


def test_missing_file_is_404(users, login, departments, make_presenter, media_root):
    presenter = make_presenter(departments["hr"])
    (media_root / presenter.preview.name).unlink()
    client = login(users["manager"])
    assert client.get(reverse("media_library:presenter_file", args=[presenter.pk, "preview"])).status_code == 404
    assert client.get(reverse("media_library:presenter_file", args=[presenter.pk, "face_track"])).status_code == 404


# ----------------------------------------------------------------------------------------------- archive / delete
def test_deleting_an_unused_presenter_removes_its_files(
    users, login, departments, make_presenter, media_root, django_capture_on_commit_callbacks, caplog
):
    presenter = make_presenter(departments["hr"])
    client = login(users["manager"])
    url = reverse("media_library:remove", args=["presenter", presenter.pk])
    assert "Delete" in client.get(url).content.decode()
    caplog.set_level(logging.INFO, logger="audit")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert not Presenter.objects.exists()
    assert files_under(media_root) == []
    assert len([r for r in caplog.records if "presenter.delete" in r.message]) == 1


def test_deleting_unused_audio_removes_its_files(
    users, login, departments, make_track, media_root, django_capture_on_commit_callbacks
):
    track = make_track(departments["hr"])
    client = login(users["hr"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("media_library:remove", args=["audio", track.pk]))
    assert not AudioTrack.objects.exists() and files_under(media_root) == []


def test_media_used_by_a_job_is_archived_not_deleted(
    users, login, departments, make_presenter, make_track, media_root, django_capture_on_commit_callbacks, caplog
):
    jobs = pytest.importorskip("jobs.models")
    hr = departments["hr"]
    presenter, track = make_presenter(hr), make_track(hr)
    batch = jobs.BatchJob.objects.create(department=hr, audio=track, creator=users["manager"])
    jobs.JobItem.objects.create(department=hr, batch=batch, presenter=presenter)
    before = files_under(media_root)
    caplog.set_level(logging.INFO, logger="audit")

    client = login(users["manager"])
    assert "Archive" in client.get(reverse("media_library:remove", args=["presenter", presenter.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("media_library:remove", args=["presenter", presenter.pk])).status_code == 302
    client = login(users["hr"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("media_library:remove", args=["audio", track.pk]))
    presenter.refresh_from_db()
    track.refresh_from_db()
    assert presenter.archived_at is not None and track.archived_at is not None
    assert files_under(media_root) == before
    messages = [r.message for r in caplog.records]
    assert sum("presenter.archive" in m for m in messages) == 1 and sum("audio.archive" in m for m in messages) == 1
    assert not any(".delete" in m for m in messages)
    detail = reverse("media_library:presenter_detail", args=[presenter.pk])
    assert detail not in login(users["manager"]).get(reverse("media_library:presenters")).content.decode()
    assert detail in login(users["manager"]).get(reverse("media_library:presenters") + "?archived=1").content.decode()
    login(users["manager"]).post(reverse("media_library:restore", args=["presenter", presenter.pk]))
    presenter.refresh_from_db()
    assert presenter.archived_at is None


@pytest.mark.parametrize("page", ["presenters", "audio", "presenter_upload", "audio_upload", "audio_tts"])
def test_pages_render(page, users, login, departments, make_presenter, make_track):
    make_presenter(departments["hr"])
    make_track(departments["hr"], warnings=["The audio is clipped."])
    response = login(users["dept_admin"]).get(reverse(f"media_library:{page}"))
    assert response.status_code == 200
    assert reverse("media_library:presenters") in response.content.decode()  # the header link


def test_detail_pages_render(users, login, departments, make_presenter, make_track):
    presenter = make_presenter(
        departments["hr"],
        warnings=["The face is small."],
        face_coverage=0.95,
        face_size_ratio=0.3,
        frontalness=0.9,
        width=320,
        height=240,
        duration=2.0,
    )
    track = make_track(departments["hr"], loudness_lufs=-20.0, speech_share=0.8, duration=3.0)
    client = login(users["dept_admin"])
    page = client.get(reverse("media_library:presenter_detail", args=[presenter.pk])).content.decode()
    assert "The face is small." in page and "<video" in page and "95%" in page
    page = client.get(reverse("media_library:audio_detail", args=[track.pk])).content.decode()
    assert "<audio" in page and "-20.0 LUFS" in page and "80%" in page
