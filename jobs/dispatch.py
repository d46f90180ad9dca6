"""Releasing items to the GPU queue gradually, so departments share the workers fairly.

Items wait in the database until their department has a free slot (`max_concurrent_items` counts
queued + running items). A 500-item batch therefore never has more than its quota in the queue, and
another department's 2-item batch is queued right away, behind at most that quota.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from rq import Retry

from accounts.models import Department
from jobs.models import ItemStatus, JobItem
from jobs.state import transition
from portal.queues import GPU, QueueUnavailable, enqueue

logger = logging.getLogger(__name__)

TASK = "jobs.tasks.run_item"


def item_timeout_seconds(item: JobItem) -> int:
    """An explicit RQ timeout scaled by the media: CPU synthesis runs at a few times real time."""
    seconds = item.batch.preview_seconds or item.batch.audio.duration or 60.0
    return int(settings.JOB_TIMEOUT_BASE_S + seconds * settings.JOB_TIMEOUT_PER_AUDIO_SECOND)


def enqueue_item(item: JobItem) -> None:
    """Put one item on the GPU queue under a fresh RQ job id (stored on the row first)."""
    job_id = f"item-{item.pk}-{item.attempts}-{item.requeues}"
    if transition(item.pk, ItemStatus.QUEUED, rq_job_id=job_id, worker_name=""):
        retry = Retry(max=settings.JOB_MAX_ATTEMPTS - 1) if settings.JOB_MAX_ATTEMPTS > 1 else None
        enqueue(GPU, TASK, item.pk, job_id=job_id, job_timeout=item_timeout_seconds(item), retry=retry)


def release_items(department_ids: list[int] | None = None) -> int:
    """Queue waiting items up to each department's concurrency quota; returns how many were released."""
    waiting = JobItem.objects.filter(status=ItemStatus.WAITING)
    if department_ids is not None:
        waiting = waiting.filter(department_id__in=department_ids)
    released = 0
    for department_id in waiting.values_list("department_id", flat=True).distinct().order_by():
        try:
            released += _release_for(department_id)
        except QueueUnavailable:
            logger.warning("queue unavailable; items of department %s stay waiting", department_id)
            break
    return released


def _release_for(department_id: int) -> int:
    with transaction.atomic():
        # The department row lock serialises concurrent releases, so the quota holds exactly.
        department = Department.objects.select_for_update().get(pk=department_id)
        busy = JobItem.objects.filter(
            department_id=department_id, status__in=(ItemStatus.QUEUED, ItemStatus.RUNNING)
        ).count()
        free = max(0, department.max_concurrent_items - busy)
        candidates = (
            JobItem.objects.filter(department_id=department_id, status=ItemStatus.WAITING)
            .select_related("batch__audio")
            .order_by("batch__created_at", "pk")[:free]
        )
        items = list(candidates)
        for item in items:
            enqueue_item(item)
    return len(items)
