"""Status transitions, in one place.

Every change of an item's status goes through `transition()`: a compare-and-set UPDATE that only
succeeds from an allowed previous status. A worker finishing and a user canceling can race; the CAS
makes exactly one of them win. The batch status is derived from its items, never set by hand.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.utils import timezone

from jobs import webhooks
from jobs.models import BatchJob, BatchStatus, ItemStatus, JobItem

ACTIVE = (ItemStatus.WAITING, ItemStatus.QUEUED, ItemStatus.RUNNING)
TERMINAL = (ItemStatus.SUCCEEDED, ItemStatus.FAILED, ItemStatus.CANCELED)

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    ItemStatus.QUEUED: (ItemStatus.WAITING, ItemStatus.QUEUED, ItemStatus.RUNNING),  # release, lost job, retry
    ItemStatus.RUNNING: (ItemStatus.QUEUED,),
    ItemStatus.SUCCEEDED: (ItemStatus.RUNNING,),
    ItemStatus.FAILED: (ItemStatus.WAITING, ItemStatus.QUEUED, ItemStatus.RUNNING),
    ItemStatus.CANCELED: ACTIVE,
    ItemStatus.WAITING: (ItemStatus.FAILED, ItemStatus.CANCELED),  # user retry
}


def transition(item_id: int, to: str, *, expect: tuple[str, ...] | None = None, **fields) -> bool:
    """Move an item to `to` if its current status allows it; returns whether this call won."""
    allowed = expect or ALLOWED_FROM[to]
    now = timezone.now()
    if to in TERMINAL:
        fields.setdefault("finished_at", now)
    if to == ItemStatus.RUNNING:
        fields.setdefault("started_at", now)
        fields.setdefault("heartbeat_at", now)
    if to == ItemStatus.QUEUED:
        fields.setdefault("queued_at", now)
    changed = JobItem.objects.filter(pk=item_id, status__in=allowed).update(status=to, **fields)
    if changed:
        if to == ItemStatus.FAILED:
            webhooks.on_item_failed(item_id)
        batch_id = JobItem.objects.filter(pk=item_id).values_list("batch_id", flat=True).first()
        refresh_batch_status(batch_id)
    return bool(changed)


def derive_batch_status(counts: Counter, canceled_by_user: bool) -> str:
    """The batch status implied by how many items are in each status."""
    if counts[ItemStatus.RUNNING] or (
        (counts[ItemStatus.WAITING] or counts[ItemStatus.QUEUED])
        and (counts[ItemStatus.SUCCEEDED] or counts[ItemStatus.FAILED])
    ):
        return BatchStatus.RUNNING
    if counts[ItemStatus.WAITING] or counts[ItemStatus.QUEUED]:
        return BatchStatus.QUEUED
    succeeded, failed = counts[ItemStatus.SUCCEEDED], counts[ItemStatus.FAILED]
    if canceled_by_user and counts[ItemStatus.CANCELED]:
        return BatchStatus.CANCELED
    if failed and succeeded:
        return BatchStatus.PARTIALLY_FAILED
    if failed:
        return BatchStatus.FAILED
    if succeeded:
        return BatchStatus.SUCCEEDED
    return BatchStatus.CANCELED


def refresh_batch_status(batch_id: int) -> str:
    """Recompute and store a batch's status (and start/finish times) from its items."""
    with transaction.atomic():
        batch = BatchJob.objects.select_for_update().get(pk=batch_id)
        counts = Counter(batch.items.values_list("status", flat=True))
        status = derive_batch_status(counts, canceled_by_user=batch.canceled_at is not None)
        fields = {"status": status}
        if status != BatchStatus.QUEUED and batch.started_at is None:
            fields["started_at"] = timezone.now()
        finished = not any(counts[s] for s in ACTIVE)
        fields["finished_at"] = (batch.finished_at or timezone.now()) if finished else None
        BatchJob.objects.filter(pk=batch_id).update(**fields)
        webhooks.on_batch_status(batch, batch.status, status)
    return status
