"""presenters/ and audio/ through media_library.services: uploads, TTS, edits, archive, filters."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_library.models import AudioSource, AudioTrack, Presenter
from tests.api.conftest import API
from tests.jobs.conftest import presenter_file, speech_file

pytestmark = pytest.mark.django_db


def test_presenter_upload_multipart_with_tags(users, departments, api, media_root, clean_queues):
    upload = SimpleUploadedFile("anna.mp4", presenter_file().read_bytes(), content_type="video/mp4")
    response = api(users["manager"]).post(
        f"{API}presenters/", {"file": upload, "title": "Anna", "tags": ["sales", "onboarding"]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Anna" and body["department"] == "hr" and body["status"] == "pending"
    assert sorted(body["tags"]) == ["onboarding", "sales"] and body["kind"] == "video"
    assert Presenter.objects.get(pk=body["id"]).file.name.startswith(f"departments/{departments['hr'].pk}/")


def test_upload_rejected_is_a_readable_400(users, api, media_root):
    bogus = SimpleUploadedFile("notes.mp4", b"this is not a video" * 50, content_type="video/mp4")
    response = api(users["manager"]).post(f"{API}presenters/", {"file": bogus}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "upload_rejected" and "notes.mp4" in response.json()["message"]
    assert not Presenter.objects.exists()


def test_audio_upload_and_tts(users, api, media_root, clean_queues):
    client = api(users["hr"])
    upload = SimpleUploadedFile("policy.wav", speech_file().read_bytes(), content_type="audio/wav")
    response = client.post(f"{API}audio/", {"file": upload, "title": "Policy", "language": "en"}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "en" and response.json()["duration"] > 1
    tts = client.post(f"{API}audio/tts/", {"text": "Hello team.", "language": "en", "voice": "en"}, format="json")
    assert tts.status_code == 201, tts.content
    assert AudioTrack.objects.get(pk=tts.json()["id"]).source == AudioSource.TTS


def test_edit_title_and_tags_then_archive(users, media_set, api):
    presenter = media_set["presenters"][0]
    client = api(users["manager"])
    response = client.patch(f"{API}presenters/{presenter.pk}/", {"title": "Anna B.", "tags": "hr, intro"},
                            format="json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Anna B." and sorted(response.json()["tags"]) == ["hr", "intro"]
    assert client.get(f"{API}presenters/?tag=intro").json()["count"] == 1
    assert client.post(f"{API}presenters/{presenter.pk}/archive/").json() == {"result": "deleted"}  # never used
    ben = media_set["presenters"][1]
    ben.job_items.model.objects.create(
        batch=ben.job_items.model.batch.field.related_model.objects.create(
            department=ben.department, audio=media_set["audio"]), department=ben.department, presenter=ben)
    assert client.delete(f"{API}presenters/{ben.pk}/").json() == {"result": "archived"}
    listed = {row["id"] for row in client.get(f"{API}presenters/").json()["results"]}
    assert ben.pk not in listed
    assert [r["id"] for r in client.get(f"{API}presenters/?archived=true").json()["results"]] == [ben.pk]


def test_audio_edit_language(users, media_set, api):
    audio = media_set["audio"]
    response = api(users["hr"]).put(f"{API}audio/{audio.pk}/", {"title": "Policy v2", "language": "de"},
                                    format="json")
    assert response.status_code == 200 and response.json()["language"] == "de"
