"""Every audited action produces exactly one event with the right actor, department and object, driven through
the real views, services and commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.audit_chain import verify
from accounts.audit_models import AuditEvent
from accounts.models import ApiToken, Membership
from accounts.permissions import Role
from jobs import services as job_services
from jobs.models import ItemStatus, JobItem
from media_library import services as media_services
from media_library.models import AudioTrack, Presenter
from tests.conftest import PASSWORD
from tests.jobs.conftest import presenter_file, speech_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chain_stays_valid(db):
    yield
    assert verify().ok


# ------------------------------------------------------------------------------------------------ sessions
def test_login_failed_login_and_logout(users, client, departments, one_event):
    hr = departments["hr"]
    client.post(reverse("login"), {"username": "hr_voice", "password": "wrong"}, HTTP_USER_AGENT="Firefox/123")
    failed = one_event("auth.login_failed", actor=None, department=hr)
    assert failed.details == {"username": "hr_voice"} and failed.user_agent == "Firefox/123"
    assert failed.ip == "127.0.0.1" and failed.request_id

    credentials = {"username": "hr_voice", "password": PASSWORD}
    response = client.post(reverse("login"), credentials, HTTP_X_REQUEST_ID="req-login-0001")
    assert response.status_code == 302
    assert one_event("auth.login", actor=users["hr"], department=hr).request_id == "req-login-0001"

    client.post(reverse("logout"))
    one_event("auth.logout", actor=users["hr"], department=hr)


def test_failed_login_for_an_unknown_name_and_staff_logins_have_no_department(users, client, one_event):
    client.post(reverse("login"), {"username": "nobody", "password": "x"})
    assert one_event("auth.login_failed", actor=None, department=None).details == {"username": "nobody"}
    client.post(reverse("login"), {"username": "staff", "password": PASSWORD})
    one_event("auth.login", actor=users["staff"], department=None)


def test_permission_denied_is_recorded_by_the_403_handler(users, login, departments, one_event):
    response = login(users["hr"]).post(reverse("job_create"), {}, HTTP_X_REQUEST_ID="req-denied-0001")
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    event = one_event("permission.denied", actor=users["hr"], department=departments["hr"])
    assert event.details == {"method": "POST", "path": reverse("job_create")}
    assert event.request_id == "req-denied-0001" == response["X-Request-ID"]


def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(users, client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9, 10.0.0.7"}
    client.post(reverse("login"), {"username": "a", "password": "b"}, REMOTE_ADDR="10.0.0.5", **forwarded)
    client.post(reverse("login"), {"username": "b", "password": "b"}, REMOTE_ADDR="192.0.2.1", **forwarded)
    ips = list(AuditEvent.objects.filter(action="auth.login_failed").order_by("seq").values_list("ip", flat=True))
    assert ips == ["203.0.113.9", "192.0.2.1"]


# ------------------------------------------------------------------------------------------------ members, tokens
def test_member_added_role_changed_removed(users, login, make_user, departments, one_event):
    hr, admin = departments["hr"], users["dept_admin"]
    newcomer = make_user("newcomer")
    client = login(admin)
    client.post(reverse("members", args=["hr"]), {"username": "newcomer", "role": Role.HR})
    membership = Membership.objects.get(user=newcomer)
    one_event("member.add", actor=admin, department=hr, obj=membership)
    client.post(reverse("change_role", args=[membership.pk]), {"role": Role.AUDITOR})
    changed = one_event("member.role_change", actor=admin, department=hr, obj=membership)
    assert (changed.details["before"], changed.details["after"]) == (Role.HR, Role.AUDITOR)
    client.post(reverse("remove_member", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    removed = one_event("member.remove", actor=admin, department=hr)
    assert (removed.object_type, removed.object_id, removed.object_repr) == (
        "accounts.membership", str(membership.pk), "newcomer @ Human Resources (Auditor)"
    )


def test_api_token_created_and_revoked_by_command(users, departments, one_event, capsys):
    call_command("create_api_token", "hr_manager")
    token = ApiToken.objects.get(user=users["manager"])
    one_event("api_token.create", actor=users["manager"], department=departments["hr"], obj=token)
    capsys.readouterr()
    call_command("revoke_api_token", token.key_hint)
    token.refresh_from_db()
    assert token.revoked_at is not None
    one_event("api_token.revoke", actor=users["manager"], department=departments["hr"], obj=token)


# ------------------------------------------------------------------------------------------------ media
def _upload(path: Path, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, path.read_bytes(), content_type="application/octet-stream")


def test_presenter_upload_edit_archive_delete(users, departments, media_set, media_root, clean_queues, one_event):
    hr, manager = departments["hr"], users["manager"]
    presenter = media_services.upload_presenter(
        user=manager, department=hr, uploaded=_upload(presenter_file(), "anna.mp4"), title="Anna"
    )
    one_event("presenter.upload", actor=manager, department=hr, obj=presenter)
    media_services.edit(presenter, user=manager, title="Anna B.")
    edited = one_event("presenter.edit", actor=manager, department=hr, obj=presenter)
    assert edited.details == {"before": {"title": "Anna"}, "after": {"title": "Anna B."}}

    used = media_set["presenters"][0]
    job_services.create_batch(user=manager, department=hr, audio=media_set["audio"], presenters=[used])
    assert media_services.archive_or_delete(used, user=manager) == "archived"
    one_event("presenter.archive", actor=manager, department=hr, obj=used)
    assert media_services.archive_or_delete(presenter, user=manager) == "deleted"
    assert not Presenter.objects.filter(pk=presenter.pk).exists()
    deleted = one_event("presenter.delete", actor=manager, department=hr)
    assert (deleted.object_id, deleted.object_repr) == (str(presenter.pk), "Anna B.")


def test_audio_upload_tts_delete(users, departments, media_root, clean_queues, one_event):
    hr, voice = departments["hr"], users["hr"]
    track = media_services.upload_audio(user=voice, department=hr, uploaded=_upload(speech_file(), "policy.wav"))
    one_event("audio.upload", actor=voice, department=hr, obj=track)
    spoken = media_services.create_tts_audio(user=voice, department=hr, title="Welcome", text="Hello", language="en")
    one_event("audio.tts", actor=voice, department=hr, obj=spoken)
    assert media_services.archive_or_delete(track, user=voice) == "deleted"
    assert not AudioTrack.objects.filter(pk=track.pk).exists()
    assert one_event("audio.delete", actor=voice, department=hr).object_id == str(track.pk)


# ------------------------------------------------------------------------------------------------ jobs
def _finish(item: JobItem, media_root: Path) -> JobItem:
    """Mark an item done with a small output file (the engine is tested elsewhere)."""
    name = f"departments/{item.department_id}/outputs/batch-{item.batch_id}/item-{item.pk}.mp4"
    (media_root / name).parent.mkdir(parents=True, exist_ok=True)
    (media_root / name).write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    JobItem.objects.filter(pk=item.pk).update(status=ItemStatus.SUCCEEDED, output=name, output_name="anna.mp4")
    return JobItem.objects.get(pk=item.pk)


def test_job_create_cancel_retry_duplicate_and_downloads(
    users, login, departments, media_set, media_root, clean_queues, one_event
):
    hr, manager = departments["hr"], users["manager"]
    batch = job_services.create_batch(
        user=manager, department=hr, audio=media_set["audio"], presenters=media_set["presenters"][:2]
    )
    created = one_event("job.create", actor=manager, department=hr, obj=batch)
    assert created.details["audio"]["title"] == "Travel policy"
    assert [p["title"] for p in created.details["presenters"]] == ["Anna", "Ben"]

    job_services.cancel_batch(batch, user=manager)
    one_event("job.cancel", actor=manager, department=hr, obj=batch)
    job_services.retry_failed(batch, user=manager)
    one_event("job.retry", actor=manager, department=hr, obj=batch)
    copy = job_services.duplicate_batch(batch, user=users["dept_admin"])
    assert one_event("job.duplicate", actor=users["dept_admin"], department=hr, obj=copy).details[
        "duplicated_from"
    ] == batch.pk
    assert AuditEvent.objects.filter(action="job.create").count() == 1

    item = _finish(batch.items.first(), media_root)
    auditor = users["auditor"]
    client = login(auditor)
    response = client.get(reverse("item_download", args=[item.pk]))
    assert response.status_code == 200
    one_event("item.download", actor=auditor, department=hr, obj=item)
    response = client.get(reverse("job_zip", args=[batch.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"
    assert one_event("job.download_zip", actor=auditor, department=hr, obj=batch).details == {"items": [item.pk]}


@pytest.mark.django_db
def test_api_refusal_is_audited_once(users, departments):
    """A 403 from the API (visible object, role without the action) is a permission.denied event too."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(users["auditor"])
    before = AuditEvent.objects.filter(action="permission.denied").count()
    response = client.post("/api/v1/jobs/", {"audio": 1, "presenters": [1]}, format="json", HTTP_X_DEPARTMENT="hr")
    assert response.status_code == 403, response.content
    events = AuditEvent.objects.filter(action="permission.denied").order_by("-pk")
    assert events.count() == before + 1
    assert events[0].actor_username == "hr_auditor" and events[0].details["path"] == "/api/v1/jobs/"
