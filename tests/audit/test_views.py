"""Auditor pages: who may look, what they see (their department only), filters, CSV export, job history, admin."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.audit_models import AuditEvent
from accounts.models import Department, Membership
from jobs import services as job_services
from jobs.models import ItemStatus, JobItem

pytestmark = pytest.mark.django_db

TIMELINE, EXPORT, JOBS = reverse("audit:timeline"), reverse("audit:export"), reverse("audit:jobs")


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _actions(response) -> list[str]:
    return [e.action for e in response.context["page"].object_list]


@pytest.fixture
def trail(users, departments):
    """One event per department plus a platform event without a department."""
    hr_row = Membership.objects.get(user=users["hr"])
    sales_row = Membership.objects.get(user=users["sales_manager"])
    return {
        "hr": audit.record("member.add", actor=users["dept_admin"], obj=hr_row, details={"who": "hr"}),
        "sales": audit.record("member.add", actor=users["sales_admin"], obj=sales_row, details={"who": "sales"}),
        "platform": audit.record("audit.prune", details={"deleted": 0}),
    }


def test_only_view_audit_holders_open_the_pages(users, login, trail):
    for url in (TIMELINE, EXPORT, JOBS):
        assert Client().get(url).status_code == 302  # anonymous: to the login page
        for role in ("manager", "hr", "sales_manager"):
            assert login(users[role]).get(url).status_code == 403, (role, url)
        for role in ("auditor", "dept_admin", "staff"):
            assert login(users[role]).get(url).status_code == 200, (role, url)
    assert login(users["auditor"]).post(TIMELINE).status_code == 405


def test_an_auditor_sees_only_their_department(users, login, trail):
    client = login(users["auditor"])
    seen = {e.pk for e in client.get(TIMELINE).context["page"].object_list}
    assert trail["hr"].pk in seen and not seen & {trail["sales"].pk, trail["platform"].pk}
    assert all(e.department_id == trail["hr"].department_id for e in AuditEvent.objects.filter(pk__in=seen))
    rows = _csv(client.get(EXPORT))
    assert {r["seq"] for r in rows} >= {str(trail["hr"].seq)}
    assert not {r["seq"] for r in rows} & {str(trail["sales"].seq), str(trail["platform"].seq)}
    assert {r["department"] for r in rows} == {"hr"}
    # asking for the other department's object by id shows nothing
    sales = trail["sales"]
    assert not client.get(TIMELINE, {"object_type": sales.object_type, "object_id": sales.object_id}).context[
        "page"
    ].object_list


def test_a_two_department_user_audits_only_where_they_are_auditor(users, login, trail):
    client = login(users["two_departments"])  # manager in HR, auditor in Sales
    client.post(reverse("switch_department", args=["hr"]))
    assert client.get(TIMELINE).status_code == 403
    client.post(reverse("switch_department", args=["sales"]))
    seen = {e.pk for e in client.get(TIMELINE).context["page"].object_list}
    assert trail["sales"].pk in seen and trail["hr"].pk not in seen and trail["platform"].pk not in seen


def test_staff_see_every_department_and_platform_events(users, login, trail, departments):
    client = login(users["staff"])
    seen = {e.pk for e in client.get(TIMELINE).context["page"].object_list}
    assert {trail["hr"].pk, trail["sales"].pk, trail["platform"].pk} <= seen
    only_sales = client.get(TIMELINE, {"department": departments["sales"].pk}).context["page"].object_list
    assert {e.department_id for e in only_sales} == {departments["sales"].pk}


def test_timeline_filters_and_pagination(users, login, departments, monkeypatch):
    hr = departments["hr"]
    week_ago = timezone.now() - timedelta(days=7)
    monkeypatch.setattr(timezone, "now", lambda: week_ago)
    old = audit.record("job.cancel", actor=users["manager"], department=hr)
    monkeypatch.undo()
    for _ in range(55):
        audit.record("job.create", actor=users["manager"], department=hr)
    voice = audit.record("audio.upload", actor=users["hr"], department=hr, obj=Membership.objects.get(user=users["hr"]))
    client = login(users["auditor"])
    first = client.get(TIMELINE)
    assert first.context["page"].paginator.count == 58  # + the auditor's own login
    assert len(first.context["page"].object_list) == 50 and client.get(TIMELINE, {"page": 2}).status_code == 200

    assert _actions(client.get(TIMELINE, {"user": "hr_voice"})) == ["audio.upload"]
    assert _actions(client.get(TIMELINE, {"action": "job.cancel"})) == ["job.cancel"]
    by_object = client.get(TIMELINE, {"object_type": voice.object_type, "object_id": voice.object_id})
    assert [e.pk for e in by_object.context["page"].object_list] == [voice.pk]
    today = timezone.localdate()
    earlier = client.get(TIMELINE, {"date_to": (today - timedelta(days=6)).isoformat()})
    assert [e.pk for e in earlier.context["page"].object_list] == [old.pk]
    recent = client.get(TIMELINE, {"date_from": (today - timedelta(days=1)).isoformat()})
    assert old.pk not in {e.pk for e in recent.context["page"].object_list}

    response = client.get(reverse("home"), HTTP_X_REQUEST_ID="req-filter-0001")
    assert response.status_code == 200
    audit_after = client.get(TIMELINE, {"request_id": "req-filter-0001"})
    assert audit_after.context["page"].paginator.count == 0  # reading pages records nothing
    client.get(reverse("job_create"), HTTP_X_REQUEST_ID="req-filter-0002")  # auditors may not: denied
    denied = client.get(TIMELINE, {"request_id": "req-filter-0002"})
    assert _actions(denied) == ["permission.denied"]


def test_failed_logins_are_found_by_the_attempted_username(users, login, client):
    client.post(reverse("login"), {"username": "hr_voice", "password": "wrong"})
    assert _actions(login(users["auditor"]).get(TIMELINE, {"user": "hr_voice"})) == ["auth.login_failed"]


def test_csv_export_is_streamed_filtered_safe_for_spreadsheets_and_audited(users, login, departments):
    hr = departments["hr"]
    audit.record("job.create", actor=users["manager"], department=hr, details={"title": "=HYPERLINK(\"x\")"})
    audit.record("job.cancel", actor=users["manager"], department=hr)
    client = login(users["auditor"])
    rows = _csv(client.get(EXPORT, {"action": "job.create"}))
    assert [r["action"] for r in rows] == ["job.create"]
    assert rows[0]["user"] == "hr_manager" and rows[0]["hash"] == AuditEvent.objects.get(action="job.create").hash
    assert '"title": "=HYPERLINK' in rows[0]["details"]
    evil = Department.objects.create(name='=HYPERLINK("http://x")', slug="evil")
    audit.record("member.add", actor=users["manager"], department=hr, obj=evil)
    objects = [r["object"] for r in _csv(client.get(EXPORT, {"action": "member.add"}))]
    assert objects == ['\'=HYPERLINK("http://x")']
    exported = AuditEvent.objects.filter(action="audit.export").order_by("seq")
    assert exported.count() == 2 and exported[0].details == {"filters": {"action": "job.create"}}
    assert exported[0].actor_username == "hr_auditor" and exported[0].department_id == hr.pk


def test_csv_cells_that_look_like_formulas_are_neutralised():
    from accounts.audit_views import _cell

    assert _cell("=1+1") == "'=1+1" and _cell("-x") == "'-x" and _cell("plain") == "plain" and _cell(None) == ""


def test_job_history_tells_who_launched_what_outcome_and_who_downloaded(
    users, login, departments, media_set, media_root, clean_queues
):
    hr, manager = departments["hr"], users["manager"]
    batch = job_services.create_batch(
        user=manager, department=hr, audio=media_set["audio"], presenters=media_set["presenters"][:2]
    )
    sales_batch = job_services.create_batch(
        user=users["sales_manager"], department=departments["sales"], audio=media_set["sales_audio"],
        presenters=[media_set["sales_presenter"]],
    )
    job_services.cancel_batch(batch, user=manager)
    item = batch.items.order_by("pk").first()
    name = f"departments/{hr.pk}/outputs/x.mp4"
    (media_root / name).parent.mkdir(parents=True, exist_ok=True)
    (media_root / name).write_bytes(b"\x00" * 64)
    JobItem.objects.filter(pk=item.pk).update(status=ItemStatus.SUCCEEDED, output=name, output_name="anna.mp4")
    downloader = login(users["dept_admin"])
    assert downloader.get(reverse("item_download", args=[item.pk])).status_code == 200
    b"".join(downloader.get(reverse("job_zip", args=[batch.pk])).streaming_content)

    response = login(users["auditor"]).get(JOBS)
    rows = response.context["rows"]
    assert [r.batch_id for r in rows] == [str(batch.pk)]  # Sales' batch is invisible
    row = rows[0]
    assert row.launched.actor_username == "hr_manager"
    assert row.audio == "Travel policy" and row.presenters == ["Anna", "Ben"]
    assert row.outcome and row.item_counts
    assert [e.action for e in row.actions] == ["job.cancel"]
    assert [(e.action, e.actor_username) for e in row.downloads] == [
        ("item.download", "hr_admin"), ("job.download_zip", "hr_admin")
    ]
    page = response.content.decode()
    assert "Travel policy" in page and "hr_admin" in page and "Dana" not in page
    staff_rows = login(users["staff"]).get(JOBS).context["rows"]
    assert {r.batch_id for r in staff_rows} == {str(batch.pk), str(sales_batch.pk)}
    assert [r.batch_id for r in login(users["staff"]).get(JOBS, {"batch": sales_batch.pk}).context["rows"]] == [
        str(sales_batch.pk)
    ]


def test_the_header_links_to_the_audit_trail_only_for_view_audit_holders(users, login):
    link = f'href="{TIMELINE}"'
    assert link in login(users["auditor"]).get(reverse("home")).content.decode()
    assert link in login(users["dept_admin"]).get(reverse("home")).content.decode()
    assert link not in login(users["manager"]).get(reverse("home")).content.decode()


def test_the_admin_is_read_only_for_staff(users, login, trail):
    client = login(users["staff"])
    event = trail["hr"]
    before = AuditEvent.objects.count()
    assert client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:accounts_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:accounts_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    changelist = reverse("admin:accounts_auditevent_changelist")
    client.post(changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk, action="member.add").exists()
    assert client.get(reverse("admin:accounts_auditanchor_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditanchor_add")).status_code == 403
    assert AuditEvent.objects.filter(action__in=["member.add", "audit.prune"]).count() == 3
    assert AuditEvent.objects.count() >= before
