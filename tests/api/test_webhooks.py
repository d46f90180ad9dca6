"""Signed webhooks: events from status transitions, delivered by a real RQ worker to a receiver that verifies
them like an integrator; retries with backoff on 5xx; the delivery log; the test send."""

from __future__ import annotations

import time

import pytest

from jobs.models import BatchJob, ItemStatus
from jobs.state import transition
from jobs.webhook_models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from jobs.webhooks import sign
from tests.api.conftest import API
from tests.api.receiver import Receiver, verify

pytestmark = pytest.mark.django_db(transaction=True)


def _endpoint(department, url: str, events=None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(department=department, url=url, events=events or list(WebhookEvent.values))


def _running_batch(users, department, media_set, n: int = 2) -> BatchJob:
    batch = BatchJob.objects.create(department=department, creator=users["manager"], audio=media_set["audio"])
    for presenter in media_set["presenters"][:n]:
        batch.items.create(department=department, presenter=presenter, status=ItemStatus.RUNNING)
    return batch


def test_events_are_signed_and_verified_by_the_receiver(users, departments, media_set, burst_worker):
    hr = departments["hr"]
    with Receiver() as receiver:
        endpoint = _endpoint(hr, receiver.url)
        receiver.secret = endpoint.secret
        _endpoint(departments["sales"], receiver.url)  # another department's endpoint hears nothing of HR
        batch = _running_batch(users, hr, media_set)
        first, second = batch.items.order_by("pk")
        assert transition(first.pk, ItemStatus.SUCCEEDED)
        assert transition(second.pk, ItemStatus.FAILED, error="No face found.", error_code="no_face")
        assert not transition(second.pk, ItemStatus.FAILED)  # CAS: no second transition, no second event
        burst_worker("default")

    events = {r["body"]["event"]: r for r in receiver.received}
    assert sorted(events) == ["batch.completed", "item.failed"] and len(receiver.received) == 2
    assert all(r["valid"] for r in receiver.received)
    completed = events["batch.completed"]
    assert completed["headers"]["Content-Type"] == "application/json"
    assert completed["body"]["data"]["batch"] == {
        **completed["body"]["data"]["batch"], "id": batch.pk, "status": "partially_failed", "department": "hr"}
    assert events["item.failed"]["body"]["data"]["item"]["error"] == "No face found."
    log = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert {(d.event, d.status, d.attempts, d.last_status_code) for d in log} == {
        ("batch.completed", DeliveryStatus.SUCCEEDED, 1, 200), ("item.failed", DeliveryStatus.SUCCEEDED, 1, 200)}


def test_batch_failed_event_and_unsubscribed_events(users, departments, media_set, burst_worker):
    hr = departments["hr"]
    with Receiver() as receiver:
        receiver.secret = _endpoint(hr, receiver.url, events=[WebhookEvent.BATCH_FAILED]).secret
        batch = _running_batch(users, hr, media_set, n=1)
        transition(batch.items.get().pk, ItemStatus.FAILED, error="Corrupt file.")
        burst_worker("default")
    assert [r["body"]["event"] for r in receiver.received] == ["batch.failed"]


def test_receiver_errors_are_retried_with_backoff_until_delivered(users, departments, media_set, burst_worker,
                                                                   settings):
    settings.WEBHOOK_RETRY_INTERVALS = [0, 0, 0]  # production: 10 s, 1 min, 5 min, ... (scheduler needed)
    hr = departments["hr"]
    with Receiver(statuses=[500, 503]) as receiver:
        endpoint = _endpoint(hr, receiver.url, events=[WebhookEvent.BATCH_COMPLETED])
        receiver.secret = endpoint.secret
        batch = _running_batch(users, hr, media_set, n=1)
        transition(batch.items.get().pk, ItemStatus.SUCCEEDED)
        burst_worker("default")
    assert len(receiver.received) == 3
    assert len({r["body"]["id"] for r in receiver.received}) == 1, "a retry resends the same delivery id"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.SUCCEEDED, 3, 200)


def test_delivery_gives_up_after_the_last_retry(users, departments, media_set, burst_worker, settings):
    settings.WEBHOOK_RETRY_INTERVALS = [0, 0]
    hr = departments["hr"]
    with Receiver(statuses=[500] * 10) as receiver:
        receiver.secret = _endpoint(hr, receiver.url).secret
        batch = _running_batch(users, hr, media_set, n=1)
        transition(batch.items.get().pk, ItemStatus.SUCCEEDED)
        burst_worker("default")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 3, 500)
    assert "HTTP 500" in delivery.last_error


def test_unreachable_receiver_is_logged(users, departments, media_set, burst_worker, settings):
    settings.WEBHOOK_RETRY_INTERVALS = []
    settings.WEBHOOK_TIMEOUT_S = 2
    hr = departments["hr"]
    _endpoint(hr, "http://127.0.0.1:9/nothing-listens-here")
    batch = _running_batch(users, hr, media_set, n=1)
    transition(batch.items.get().pk, ItemStatus.SUCCEEDED)
    burst_worker("default")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code is None and delivery.last_error


def test_api_create_shows_secret_once_test_send_and_log(users, departments, api, burst_worker):
    client = api(users["dept_admin"])
    with Receiver() as receiver:
        created = client.post(f"{API}webhooks/", {"url": receiver.url, "events": ["batch.completed"]}, format="json")
        assert created.status_code == 201, created.content
        receiver.secret = created.json()["secret"]
        hook_id = created.json()["id"]
        assert "secret" not in client.get(f"{API}webhooks/{hook_id}/").json()
        queued = client.post(f"{API}webhooks/{hook_id}/test/")
        assert queued.status_code == 202 and queued.json()["status"] == "pending"
        burst_worker("default")
    assert [(r["body"]["event"], r["valid"]) for r in receiver.received] == [("ping", True)]
    log = client.get(f"{API}webhooks/deliveries/?endpoint={hook_id}").json()["results"]
    assert [(d["event"], d["status"], d["last_status_code"]) for d in log] == [("ping", "succeeded", 200)]
    assert api(users["manager"]).get(f"{API}webhooks/deliveries/").status_code == 403


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)"])
def test_only_http_urls(users, departments, api, url):
    response = api(users["dept_admin"]).post(f"{API}webhooks/", {"url": url, "events": ["batch.failed"]},
                                             format="json")
    assert response.status_code == 400 and "url" in response.json()["errors"]


def test_receiver_rejects_stale_or_forged_signatures():
    body = b'{"event":"ping"}'
    now = int(time.time())
    assert verify("s3cret", sign("s3cret", body, now), body)
    assert not verify("s3cret", sign("s3cret", body, now - 3600), body), "replayed an hour later"
    assert not verify("s3cret", sign("other", body, now), body)
    assert not verify("s3cret", sign("s3cret", body, now), body + b" ")


def test_deliveries_lost_while_redis_was_down_are_requeued_by_the_reconciler(users, departments, media_set,
                                                                             burst_worker, settings):
    from jobs.reconcile import reconcile

    hr = departments["hr"]
    with Receiver() as receiver:
        endpoint = _endpoint(hr, receiver.url)
        receiver.secret = endpoint.secret
        batch = _running_batch(users, hr, media_set, n=1)
        assert transition(batch.items.get().pk, ItemStatus.SUCCEEDED)
        import django_rq

        django_rq.get_connection("default").flushdb()  # Redis restarted before the delivery ran
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == DeliveryStatus.PENDING
        settings.JOB_LOST_GRACE_S = 0
        assert reconcile()["webhooks_requeued"] == 1
        burst_worker("default")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 1
    assert receiver.received[0]["valid"]
