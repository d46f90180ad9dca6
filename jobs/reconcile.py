"""Nothing stuck, nothing lost: compare the rows (the truth) with what RQ and the workers still hold.

Runs from every worker's housekeeping (jobs.worker) and from `manage.py reconcile_jobs`.
- running items whose heartbeat stopped (worker SIGKILLed, OOM, machine gone) are re-queued;
- queued items whose RQ job vanished (Redis flushed or restarted) are re-queued;
- after JOB_MAX_REQUEUES recoveries an item fails with a clear reason instead of looping forever;
- waiting items are released as department slots free up; stuck media ingests are recovered.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from jobs.dispatch import enqueue_item, release_items
from jobs.models import ItemStatus, JobItem
from jobs.outputs import remove_stale_partials
from jobs.state import transition
from jobs.webhooks import requeue_lost_deliveries
from media_library.ingest import reconcile_stuck_media
from portal.queues import GPU, job_is_alive

logger = logging.getLogger(__name__)

def _recover(item: JobItem, why: str) -> str:
    """Re-queue a lost item, or fail it once it has been recovered too often."""
    if item.requeues >= settings.JOB_MAX_REQUEUES:
        message = _(
            "The item was interrupted %(n)s times (%(why)s) and was not retried again. "
            "Check the workers, then use Retry."
        ) % {"n": item.requeues + 1, "why": why}
        transition(item.pk, ItemStatus.FAILED, error=message, error_code="lost")
        remove_stale_partials(item)
        return "failed"
    JobItem.objects.filter(pk=item.pk).update(requeues=F("requeues") + 1)
    item.refresh_from_db()
    if item.status == ItemStatus.RUNNING:
        transition(item.pk, ItemStatus.QUEUED, expect=(ItemStatus.RUNNING,), stage="recovering", progress=0)
        item.refresh_from_db()
    enqueue_item(item)
    logger.warning("recovered item %s (%s), requeue %s", item.pk, why, item.requeues)
    return "requeued"


def reconcile() -> dict[str, int]:
    """One pass; returns counts of what it did (for logs and tests)."""
    done = {"dead_worker": 0, "lost_job": 0, "failed": 0, "released": 0, "media_requeued": 0, "media_rejected": 0,
            "webhooks_requeued": 0}
    try:
        lock = django_rq.get_connection(GPU).lock("portal:reconcile", timeout=120, blocking=False)
        if not lock.acquire():
            return done  # another worker is reconciling right now
    except RedisError:
        logger.warning("reconcile skipped: Redis unreachable")
        return done
    try:
        return _reconcile_once(done)
    finally:
        with contextlib.suppress(RedisError):
            lock.release()


def _reconcile_once(done: dict[str, int]) -> dict[str, int]:
    now = timezone.now()

    stale = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_S)
    for item in JobItem.objects.filter(status=ItemStatus.RUNNING, heartbeat_at__lt=stale):
        outcome = _recover(item, _("its worker stopped responding"))
        done["failed" if outcome == "failed" else "dead_worker"] += 1

    grace = now - timedelta(seconds=settings.JOB_LOST_GRACE_S)
    for item in JobItem.objects.filter(status=ItemStatus.QUEUED, queued_at__lt=grace):
        if not job_is_alive(item.rq_job_id, GPU):
            outcome = _recover(item, _("its queue entry was lost"))
            done["failed" if outcome == "failed" else "lost_job"] += 1

    done["released"] = release_items()
    done["webhooks_requeued"] = requeue_lost_deliveries(grace_s=settings.JOB_LOST_GRACE_S)
    media = reconcile_stuck_media(grace_s=settings.JOB_LOST_GRACE_S)
    done["media_requeued"], done["media_rejected"] = media["requeued"], media["rejected"]
    return done
