"""Signed webhook deliveries: `emit()` records one delivery per subscribed endpoint, RQ carries the HTTP call.

Deliveries are created when the surrounding transaction commits (an event of a rolled-back change is never
sent) and delivered by `deliver()` on the `default` queue, retried with exponential backoff through RQ's
`Retry` (so workers must run `--with-scheduler`). The delivery row is updated on every attempt: it is the log.

Receivers verify `X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` and reject old `t`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Retry

from jobs.models import BatchJob, BatchStatus, JobItem
from jobs.webhook_models import PING_EVENT, DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal import queues

logger = logging.getLogger(__name__)

DELIVER_TASK = "jobs.webhooks.deliver"
BATCH_EVENTS = {
    BatchStatus.SUCCEEDED: WebhookEvent.BATCH_COMPLETED,
    BatchStatus.PARTIALLY_FAILED: WebhookEvent.BATCH_COMPLETED,
    BatchStatus.FAILED: WebhookEvent.BATCH_FAILED,
}


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx; raised so RQ schedules the next attempt."""


def is_allowed_url(url: str) -> bool:
    """Only http(s) URLs with a host (no file:, ftp:, ...)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- emitting -----------------------------------------------------------------------------------------------


def emit(event: str, department, payload: dict) -> None:
    """Queue `event` for every active endpoint of `department` subscribed to it, once the transaction commits."""
    department_id = getattr(department, "pk", department)
    transaction.on_commit(lambda: _create_deliveries(event, department_id, payload))


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `ping` delivery to one endpoint (the test-send button), through the same queue and signature."""
    payload = {"message": "Test event from the lip-sync portal.", "endpoint": endpoint.pk}
    delivery = WebhookDelivery.objects.create(
        department_id=endpoint.department_id, endpoint=endpoint, event=PING_EVENT, payload=payload
    )
    transaction.on_commit(lambda: _enqueue(delivery))
    return delivery


def _create_deliveries(event: str, department_id: int, payload: dict) -> None:
    endpoints = [e for e in WebhookEndpoint.objects.filter(department_id=department_id, active=True) if e.wants(event)]
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            department_id=department_id, endpoint=endpoint, event=event, payload=payload
        )
        _enqueue(delivery)


def requeue_lost_deliveries(grace_s: float) -> int:
    """Pending deliveries whose RQ job never existed (Redis was down) or vanished go back on the queue."""
    cutoff = timezone.now() - timedelta(seconds=grace_s)
    lost = [
        d for d in WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=cutoff)
        if not queues.job_is_alive(d.rq_job_id, queues.DEFAULT)
    ]
    for delivery in lost:
        _enqueue(delivery)
    return len(lost)


def _enqueue(delivery: WebhookDelivery) -> None:
    """Hand the delivery to RQ; when Redis is down it stays `pending` in the log with the reason."""
    intervals = list(settings.WEBHOOK_RETRY_INTERVALS)
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    try:
        job_id = queues.enqueue(queues.DEFAULT, DELIVER_TASK, delivery.pk, job_timeout=60, retry=retry)
    except queues.QueueUnavailable as exc:
        logger.warning("webhook delivery %s not queued: %s", delivery.pk, exc)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=str(exc))
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(rq_job_id=job_id)


def on_batch_status(batch: BatchJob, old: str, new: str) -> None:
    """Called by jobs.state when a batch's derived status changes (under its row lock: once per change)."""
    event = BATCH_EVENTS.get(new)
    if event is None or old == new:
        return
    counts: dict[str, int] = {}
    for status in batch.items.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    emit(
        event,
        batch.department_id,
        {
            "batch": {
                "id": batch.pk,
                "status": new,
                "department": batch.department.slug,
                "audio": batch.audio_id,
                "items": counts,
                "created_at": batch.created_at.isoformat(),
            }
        },
    )


def on_item_failed(item_id: int) -> None:
    """Called by jobs.state when an item has just moved to `failed`."""
    item = JobItem.objects.select_related("batch", "presenter").filter(pk=item_id).first()
    if item is None:
        return
    emit(
        WebhookEvent.ITEM_FAILED,
        item.department_id,
        {
            "item": {
                "id": item.pk,
                "batch": item.batch_id,
                "presenter": {"id": item.presenter_id, "title": item.presenter.title},
                "error": item.error,
                "error_code": item.error_code,
                "attempts": item.attempts,
            }
        },
    )


# --- delivering (RQ task) ---------------------------------------------------------------------------------


def envelope(delivery: WebhookDelivery) -> bytes:
    """The JSON body: stable across retries, so a receiver can deduplicate on `id`."""
    body = {
        "id": f"dlv_{delivery.pk}",
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST once; (status code or None, error text or '')."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_S) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def deliver(delivery_id: int) -> str:
    """One delivery attempt. Raises DeliveryFailed on a non-2xx answer so RQ retries with backoff."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.active or not is_allowed_url(endpoint.url):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED, last_error="The endpoint is disabled or its URL is not http(s)."
        )
        return "failed"
    body = envelope(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lipsync-portal-webhooks/1",
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": f"dlv_{delivery.pk}",
        "X-Signature": sign(endpoint.secret, body, int(time.time())),
    }
    code, error = _post(endpoint.url, body, headers)
    attempts = delivery.attempts + 1
    now = timezone.now()
    ok = code is not None and 200 <= code < 300
    final = ok or attempts > len(settings.WEBHOOK_RETRY_INTERVALS)
    status = DeliveryStatus.SUCCEEDED if ok else DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=attempts,
        last_status_code=code,
        last_error=error,
        last_attempt_at=now,
        status=status,
        delivered_at=now if ok else None,
    )
    if not ok and not final:
        raise DeliveryFailed(f"attempt {attempts}: {error or code}")
    return status
