"""API fixtures: token-authenticated clients, HR and Sales objects of every kind, a finished batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from accounts import audit
from jobs.models import BatchJob, ItemStatus, JobItem
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.jobs.conftest import make_audio, make_presenter, media_set, presenter_file  # noqa: F401  (fixtures)

API = "/api/v1/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; user ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """api(user, read_only=False) -> an APIClient authenticated with a new token of that user."""
    from accounts.models import ApiToken

    def make(user=None, read_only: bool = False, **headers) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = ApiToken.issue(user, name="test", read_only=read_only)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}", **headers)
        return client

    return make


def finish_item(item: JobItem, media_root: Path) -> JobItem:
    """Mark an item succeeded with a real MP4 output (no synthesis needed to test downloads)."""
    name = f"departments/{item.department_id}/outputs/item-{item.pk}.mp4"
    target = media_root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(presenter_file(), target)
    JobItem.objects.filter(pk=item.pk).update(
        status=ItemStatus.SUCCEEDED, progress=100, output=name, output_name=f"{item.presenter.title}.mp4",
        output_duration=2.0,
    )
    item.refresh_from_db()
    return item


def _objects(department, audio, presenter, creator, media_root) -> dict:
    batch = BatchJob.objects.create(department=department, creator=creator, audio=audio)
    item = JobItem.objects.create(batch=batch, department=department, presenter=presenter, status=ItemStatus.QUEUED)
    finish_item(item, media_root)
    endpoint = WebhookEndpoint.objects.create(department=department, url="http://127.0.0.1:9/hook",
                                              events=[WebhookEvent.BATCH_COMPLETED])
    delivery = WebhookDelivery.objects.create(department=department, endpoint=endpoint, event="ping")
    with transaction.atomic():
        event = audit.record("job.create", actor=creator, department=department, obj=batch)
    return {"presenter": presenter, "audio": audio, "job": batch, "item": item, "webhook": endpoint,
            "delivery": delivery, "audit": event, "department": department}


@pytest.fixture
def world(users, departments, media_set, media_root) -> dict:  # noqa: F811 - media_set is the imported fixture
    """One object of every kind in HR and in Sales (items already finished, so downloads work)."""
    return {
        "hr": _objects(departments["hr"], media_set["audio"], media_set["presenters"][0], users["manager"],
                       media_root),
        "sales": _objects(departments["sales"], media_set["sales_audio"], media_set["sales_presenter"],
                          users["sales_manager"], media_root),
    }
