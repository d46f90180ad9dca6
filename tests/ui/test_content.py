"""What the pages say and offer: dashboard figures, job page states, history filters and CSV, the new-batch
form, uploads answering the page's script, error pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse

from jobs.models import BatchJob, BatchStatus
from media_library.models import MediaStatus, Presenter
from media_library.services import tags_for
from media_library.validation import department_usage
from tests.media_library.conftest import upload_file


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ----------------------------------------------------------------------------------------------- dashboard
def test_dashboard_shows_storage_minutes_and_jobs(users, login, media_set, batch):
    hr = media_set["audio"].department
    page = html(login(users["manager"]).get(reverse("home")))
    assert filesizeformat(department_usage(hr)) in page and "of 50.0" in page
    assert "Output minutes this month" in page and "of 600 min" in page
    running = page.split('id="running-jobs"')[1].split('id="recent-jobs"')[0]
    assert f"#{batch.pk}<" in running and "1 of 3 videos done" in running
    assert reverse("job_create") in page  # a manager may start batches
    auditor_page = html(login(users["auditor"]).get(reverse("home")))
    assert reverse("job_create") not in auditor_page and reverse("media_library:presenter_upload") not in auditor_page


def test_empty_dashboard_tells_what_to_do(users, login, departments):
    page = html(login(users["manager"]).get(reverse("home")))
    assert "Nothing is running." in page and "No finished jobs yet" in page and "New batch" in page


# ----------------------------------------------------------------------------------------------- job page
def test_job_page_shows_progress_errors_previews_and_actions(users, login, batch):
    page = html(login(users["manager"]).get(reverse("job_detail", args=[batch.pk])))
    assert f'data-status-url="{reverse("job_status", args=[batch.pk])}"' in page
    assert "No face was found in the presenter video." in page  # the error, in plain words
    assert "Animating the lips" in page and "about 2 minutes left" in page  # stage and ETA of the running item
    done = batch.items.get(status="succeeded")
    assert reverse("item_preview", args=[done.pk]) in page and reverse("item_download", args=[done.pk]) in page
    assert "secret internals" not in page  # tracebacks are for staff only
    for action in ("job_cancel", "job_retry", "job_duplicate"):
        assert reverse(action, args=[batch.pk]) in page
    assert 'id="item-result-template"' in page  # what the script fills in when an item finishes live
    assert "secret internals" in html(login(users["staff"]).get(reverse("job_detail", args=[batch.pk])))


@pytest.mark.parametrize("role", ["hr", "auditor"])
def test_job_page_without_run_rights_offers_downloads_only(role, users, login, batch):
    page = html(login(users[role]).get(reverse("job_detail", args=[batch.pk])))
    assert reverse("job_zip", args=[batch.pk]) in page
    for action in ("job_cancel", "job_retry", "job_duplicate"):
        assert reverse(action, args=[batch.pk]) not in page


def test_status_json_carries_the_live_texts(users, login, batch):
    data = login(users["manager"]).get(reverse("job_status", args=[batch.pk])).json()
    assert data["status"] == "running" and data["active"] and data["has_failed"] and data["has_outputs"]
    assert data["counts_label"] == "1 of 3 videos done, 1 failed"
    rows = {item["status"]: item for item in data["items"]}
    assert rows["running"]["stage_label"] == "Animating the lips" and rows["running"]["eta_label"]
    assert rows["succeeded"]["preview_url"].endswith("/preview/") and rows["succeeded"]["sync_label"]
    assert rows["failed"]["error"] and not rows["failed"]["preview_url"]
    assert 0 < data["progress"] < 100


# ----------------------------------------------------------------------------------------------- job history
def test_history_filters_paginate_and_export(users, login, media_set, batch):
    hr, audio = media_set["audio"].department, media_set["audio"]
    BatchJob.objects.bulk_create(
        BatchJob(department=hr, creator=users["dept_admin"], audio=audio, status=BatchStatus.SUCCEEDED)
        for _ in range(30)
    )
    client = login(users["auditor"])
    first = html(client.get(reverse("job_list"), {"creator": "hr_admin"}))
    assert "30 batches" in first and "Page 1 of 2" in first
    assert "page=2" in first and "creator=hr_admin" in first  # the next-page link keeps the filters
    assert "30 batches" in html(client.get(reverse("job_list"), {"status": "succeeded"}))
    assert "1 batch<" in html(client.get(reverse("job_list"), {"q": "Chen"}))  # matches a presenter of the batch
    empty = html(client.get(reverse("job_list"), {"q": "nobody says this"}))
    assert "No batch matches these filters" in empty and "Clear filters" in empty
    assert "0 batches" in html(client.get(reverse("job_list"), {"from": "2999-01-01"}))

    response = client.get(reverse("job_export"), {"status": "running"})
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["id"], r["status"], r["items"], r["succeeded"], r["failed"]) for r in rows] == [
        (str(batch.pk), "running", "3", "1", "1")
    ]
    assert rows[0]["output_seconds"] == "2.0" and rows[0]["creator"] == "hr_manager"
    assert len(list(csv.reader(io.StringIO(client.get(reverse("job_export")).content.decode("utf-8-sig"))))) == 32


# ----------------------------------------------------------------------------------------------- new batch
def test_new_batch_form_offers_ready_media_with_estimate_data(users, login, media_set):
    anna = media_set["presenters"][0]
    anna.tags.add(*tags_for(anna.department, ["sales"]))
    Presenter.objects.filter(pk=media_set["presenters"][2].pk).update(status=MediaStatus.ANALYSING)
    client = login(users["manager"])
    page = html(client.get(reverse("job_create"), {"audio": media_set["audio"].pk, "presenters": anna.pk}))
    assert f'value="{media_set["audio"].pk}" data-duration="' in page
    assert 'data-select-tag="sales"' in page and 'data-tags="sales"' in page
    assert "Chen" not in page and "Dana" not in page  # not ready / another department
    assert 'checked' in page.split(f'value="{anna.pk}"')[1][:80]
    assert "data-minutes-left=" in page and 'name="preview"' in page
    refused = client.post(reverse("job_create"), {"audio": media_set["audio"].pk, "backend": "warp"})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()


def test_new_batch_without_media_says_what_to_do(users, login, departments):
    page = html(login(users["manager"]).get(reverse("job_create")))
    assert "No audio track is ready" in page and "Ask your HR colleagues" in page
    page = html(login(users["dept_admin"]).get(reverse("job_create")))
    assert reverse("media_library:audio_upload") in page


# ----------------------------------------------------------------------------------------------- library
def test_presenter_library_filters_and_empty_states(users, login, media_set):
    client = login(users["manager"])
    page = html(client.get(reverse("media_library:presenters")))
    assert "3 presenters" in page and 'data-status="ready"' in page
    assert "1 presenter<" in html(client.get(reverse("media_library:presenters"), {"q": "Ben"}))
    assert "No presenter matches" in html(client.get(reverse("media_library:presenters"), {"q": "zzz"}))
    assert "No presenter matches" in html(client.get(reverse("media_library:presenters"), {"status": "rejected"}))


def test_empty_libraries_explain_the_next_step(users, login, departments):
    manager = html(login(users["manager"]).get(reverse("media_library:presenters")))
    assert "No presenters yet" in manager and reverse("media_library:presenter_upload") in manager
    auditor = html(login(users["auditor"]).get(reverse("media_library:audio")))
    assert "No audio tracks yet" in auditor and reverse("media_library:audio_upload") not in auditor


def test_rejected_media_shows_the_reason_and_what_to_do(users, login, media_set):
    track = media_set["audio"]
    track.status, track.rejection_reason = MediaStatus.REJECTED, "policy.mp3 has no sound."
    track.save()
    page = html(login(users["hr"]).get(reverse("media_library:audio_detail", args=[track.pk])))
    assert "policy.mp3 has no sound." in page and "Upload a different file" in page


@pytest.fixture
def queued(media_root, clean_queues, django_capture_on_commit_callbacks):
    def post(client, url, data, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **headers)

    return post


def test_uploads_answer_the_pages_script_in_json(users, login, media_samples, queued):
    """The drag-and-drop uploader posts one file per request and asks for JSON (per-file progress and errors)."""
    client = login(users["dept_admin"])
    json_accept = {"HTTP_ACCEPT": "application/json"}
    ok = queued(client, reverse("media_library:presenter_upload"),
                {"files": upload_file(media_samples["clip"], "anna.mp4"), "tags": "sales"}, **json_accept)
    presenter = Presenter.objects.get()
    assert ok.status_code == 201
    assert ok.json()["redirect"] == reverse("media_library:presenter_detail", args=[presenter.pk])
    bad = queued(client, reverse("media_library:presenter_upload"),
                 {"files": upload_file(media_samples["random"], "noise.mp4")}, **json_accept)
    assert bad.status_code == 400 and "could not be read as audio or video" in bad.json()["errors"][0]
    audio = queued(client, reverse("media_library:audio_upload"),
                   {"file": upload_file(media_samples["speech"], "hello.wav"), "title": "Hello"}, **json_accept)
    assert audio.status_code == 201 and audio.json()["created"][0]["title"] == "Hello"
    plain = queued(client, reverse("media_library:audio_upload"), {"file": upload_file(media_samples["empty"])})
    assert plain.status_code == 400 and "is empty (0 bytes)" in plain.content.decode()


def test_queue_down_pages_say_what_to_do(users, login, media_samples, media_root, monkeypatch):
    from portal import queues

    monkeypatch.setattr(queues, "queue_is_available", lambda name="default": False)
    client = login(users["dept_admin"])
    page = client.post(reverse("media_library:audio_upload"), {"file": upload_file(media_samples["speech"])})
    assert page.status_code == 503 and "Wait a minute and try again" in page.content.decode()
    script = client.post(reverse("media_library:audio_upload"), {"file": upload_file(media_samples["speech"])},
                         HTTP_ACCEPT="application/json")
    assert script.status_code == 503 and "unreachable" in script.json()["errors"][0]


# ----------------------------------------------------------------------------------------------- members
def test_members_page_lists_roles_and_explains_them(users, login):
    client = login(users["dept_admin"])
    page = html(client.get(reverse("members", args=["hr"])))
    for username in ("hr_manager", "hr_voice", "hr_auditor", "hr_admin", "both"):
        assert f'data-member="{username}"' in page
    assert "sales_manager" not in page
    assert "What each role may do" in page and "start, cancel and retry batches" in page
    refused = html(client.post(reverse("members", args=["hr"]), {"username": "ghost", "role": "hr"}))
    assert "No active user with that username." in refused


# ----------------------------------------------------------------------------------------------- error pages
def test_error_pages_tell_what_to_do_next(users, login, settings):
    client = login(users["manager"])
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "Back to the dashboard" in missing.content.decode()
    denied = client.get(reverse("members", args=["hr"]))
    assert denied.status_code == 403 and "Ask your department administrator" in denied.content.decode()
    server_error = render_to_string("500.html")
    assert "Something went wrong" in server_error and "portal/app.css" in server_error
