"""jobs/ and items/: create with scoped ids, department choice, idempotency, filters, progress, actions, downloads."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.db import IntegrityError

from jobs.models import BatchJob, BatchStatus, ItemStatus
from portal.api import job_views
from tests.api.conftest import API, finish_item

pytestmark = pytest.mark.django_db


def _body(media_set, presenters=None, **extra) -> dict:
    ids = presenters if presenters is not None else [p.pk for p in media_set["presenters"][:2]]
    return {"audio": media_set["audio"].pk, "presenters": ids, "backend": "warp", "options": {}, **extra}


def test_create_returns_201_with_items(users, media_set, api, clean_queues):
    response = api(users["manager"]).post(f"{API}jobs/", _body(media_set), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["department"] == "hr" and body["creator"] == "hr_manager" and body["status"] == "queued"
    assert [i["presenter"]["title"] for i in body["items"]] == ["Anna", "Ben"]
    assert body["progress"] == 0.0 and sum(body["counts"].values()) == 2


@pytest.mark.parametrize("field", ["audio", "presenters"])
def test_foreign_ids_are_400_does_not_exist(users, media_set, api, field):
    body = _body(media_set)
    if field == "audio":
        body["audio"] = media_set["sales_audio"].pk
    else:
        body["presenters"] = [media_set["presenters"][0].pk, media_set["sales_presenter"].pk]
    response = api(users["manager"]).post(f"{API}jobs/", body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid" and "does not exist" in str(error["errors"][field])
    assert "Sales" not in response.content.decode() and "Dana" not in response.content.decode()
    assert not BatchJob.objects.exists()


def test_options_must_be_storable(users, media_set, api):
    response = api(users["manager"]).post(f"{API}jobs/", _body(media_set, options={"x": "a\u0000b"}), format="json")
    assert response.status_code == 400 and "options" in response.json()["errors"]


def test_unready_audio_is_batch_rejected(users, media_set, api):
    media_set["audio"].status = "analysing"
    media_set["audio"].save()
    response = api(users["manager"]).post(f"{API}jobs/", _body(media_set), format="json")
    assert response.status_code == 400 and response.json()["code"] == "batch_rejected"
    assert "not ready" in response.json()["message"]


def test_queue_down_is_503(users, media_set, api, monkeypatch):
    monkeypatch.setattr("jobs.services.queue_is_available", lambda *a: False)
    response = api(users["manager"]).post(f"{API}jobs/", _body(media_set), format="json")
    assert response.status_code == 503 and response.json()["code"] == "queue_unavailable"
    assert "Traceback" not in response.content.decode()


def test_department_choice_for_a_two_department_user(users, departments, media_set, api, make_user):
    multi = make_user("multi", hr="manager", sales="manager")
    client = api(multi)
    ambiguous = client.post(f"{API}jobs/", _body(media_set), format="json")
    assert ambiguous.status_code == 400 and "department" in ambiguous.json()["errors"]
    chosen = api(multi, HTTP_X_DEPARTMENT="hr").post(f"{API}jobs/", _body(media_set), format="json")
    assert chosen.status_code == 201 and chosen.json()["department"] == "hr"
    by_field = client.post(f"{API}jobs/", _body(media_set, department="sales"), format="json")
    assert by_field.status_code == 400 and by_field.json()["code"] == "batch_rejected"  # HR media into Sales
    unknown = client.post(f"{API}jobs/", _body(media_set, department="nope"), format="json")
    assert unknown.status_code == 400 and "does not exist" in str(unknown.json()["errors"]["department"])
    # a role without the action in the named department: 403
    both = api(users["two_departments"], HTTP_X_DEPARTMENT="sales")
    assert both.post(f"{API}jobs/", _body(media_set), format="json").status_code == 403


def test_idempotency_key_returns_the_original_batch(users, media_set, api, clean_queues):
    client = api(users["manager"], HTTP_IDEMPOTENCY_KEY="lms-run-42")
    first = client.post(f"{API}jobs/", _body(media_set), format="json")
    again = client.post(f"{API}jobs/", _body(media_set), format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert BatchJob.objects.count() == 1
    other = client.post(f"{API}jobs/", _body(media_set, presenters=[media_set["presenters"][2].pk]), format="json")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    # another user may use the same key for their own batch
    dept_admin = api(users["dept_admin"], HTTP_IDEMPOTENCY_KEY="lms-run-42")
    assert dept_admin.post(f"{API}jobs/", _body(media_set), format="json").status_code == 201
    assert BatchJob.objects.count() == 2


def test_idempotency_race_is_resolved_by_the_unique_constraint(users, media_set, api, clean_queues, monkeypatch):
    """Two requests pass the lookup at once: the loser hits the constraint and answers with the winner's batch."""
    client = api(users["manager"], HTTP_IDEMPOTENCY_KEY="race")
    first = client.post(f"{API}jobs/", _body(media_set), format="json").json()
    real = job_views.existing_batch
    calls = []

    def miss_once(user, key):
        calls.append(key)
        return None if len(calls) == 1 else real(user, key)

    monkeypatch.setattr(job_views, "existing_batch", miss_once)
    second = client.post(f"{API}jobs/", _body(media_set), format="json")
    assert second.status_code == 200 and second.json()["id"] == first["id"]
    assert BatchJob.objects.count() == 1 and len(calls) == 2
    with pytest.raises(IntegrityError):  # the constraint really is what protects us
        from django.db import transaction

        with transaction.atomic():
            BatchJob.objects.create(department=media_set["audio"].department, creator=users["manager"],
                                    audio=media_set["audio"], idempotency_key="race")


def test_list_filters_ordering_and_pagination(users, departments, media_set, api, make_user):
    hr = departments["hr"]
    anna, ben, _ = media_set["presenters"]
    made = []
    for creator, presenter, status in [(users["manager"], anna, BatchStatus.SUCCEEDED),
                                       (users["dept_admin"], ben, BatchStatus.FAILED),
                                       (users["manager"], ben, BatchStatus.QUEUED)]:
        batch = BatchJob.objects.create(department=hr, creator=creator, audio=media_set["audio"], status=status)
        batch.items.create(department=hr, presenter=presenter)
        made.append(batch)
    client = api(users["auditor"])

    def ids(query: str) -> list[int]:
        response = client.get(f"{API}jobs/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("status=failed") == [made[1].pk]
    assert ids("status=failed&status=queued&ordering=created_at") == [made[1].pk, made[2].pk]
    assert ids("creator=hr_manager&ordering=id") == [made[0].pk, made[2].pk]
    assert ids(f"presenter={ben.pk}&ordering=-id") == [made[2].pk, made[1].pk]
    assert ids(f"created_after={made[1].created_at.isoformat().replace('+00:00', 'Z')}&ordering=id") == [
        made[1].pk, made[2].pk]
    assert ids("created_before=2000-01-01T00:00:00Z") == []
    page = client.get(f"{API}jobs/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert client.get(f"{API}jobs/?status=nonsense").status_code == 400


def test_retrieve_shows_items_and_progress(users, departments, media_set, api, media_root):
    hr = departments["hr"]
    batch = BatchJob.objects.create(department=hr, creator=users["manager"], audio=media_set["audio"])
    done = batch.items.create(department=hr, presenter=media_set["presenters"][0])
    batch.items.create(department=hr, presenter=media_set["presenters"][1], status=ItemStatus.RUNNING, progress=50)
    finish_item(done, media_root)
    body = api(users["hr"]).get(f"{API}jobs/{batch.pk}/").json()
    assert body["progress"] == 75.0
    by_title = {i["presenter"]["title"]: i for i in body["items"]}
    assert by_title["Anna"]["download_url"].endswith(f"/api/v1/items/{done.pk}/download/")
    assert by_title["Ben"]["download_url"] is None and by_title["Ben"]["progress"] == 50


def test_cancel_and_retry(users, media_set, api, clean_queues):
    client = api(users["manager"])
    batch = client.post(f"{API}jobs/", _body(media_set), format="json").json()
    assert client.post(f"{API}jobs/{batch['id']}/cancel/").json() == {"items": 2}
    assert client.get(f"{API}jobs/{batch['id']}/").json()["status"] == "canceled"
    assert client.post(f"{API}jobs/{batch['id']}/retry/").json() == {"items": 2}
    assert client.get(f"{API}jobs/{batch['id']}/").json()["status"] in ("queued", "running")


def test_zip_and_item_downloads(users, departments, media_set, api, media_root):
    hr = departments["hr"]
    batch = BatchJob.objects.create(department=hr, creator=users["manager"], audio=media_set["audio"])
    done = finish_item(batch.items.create(department=hr, presenter=media_set["presenters"][0]), media_root)
    failed = batch.items.create(department=hr, presenter=media_set["presenters"][1], status=ItemStatus.FAILED,
                                error="No face found.")
    client = api(users["auditor"])
    response = client.get(f"{API}jobs/{batch.pk}/download/", HTTP_ACCEPT="application/zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert set(archive.namelist()) == {"manifest.csv", "Anna.mp4"}
    assert "No face found." in archive.read("manifest.csv").decode("utf-8-sig")
    item = client.get(f"{API}items/{done.pk}/download/")
    assert item.status_code == 200 and item["Content-Type"] == "video/mp4"
    assert b"".join(item.streaming_content)[4:8] == b"ftyp"
    missing = client.get(f"{API}items/{failed.pk}/download/", HTTP_ACCEPT="video/mp4")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_download_throttle_is_scoped(users, departments, media_set, api, media_root, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"upload": "5/min", "job_create": "5/min",
                                                               "download": "2/min"})
    hr = departments["hr"]
    batch = BatchJob.objects.create(department=hr, creator=users["manager"], audio=media_set["audio"])
    item = finish_item(batch.items.create(department=hr, presenter=media_set["presenters"][0]), media_root)
    client = api(users["auditor"])
    codes = [client.get(f"{API}items/{item.pk}/download/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get(f"{API}items/{item.pk}/").status_code == 200  # other actions are not throttled
    assert client.get(f"{API}jobs/{batch.pk}/download/").json()["code"] == "throttled"  # same scope
