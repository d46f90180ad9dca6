"""Batch actions: create, cancel, retry failed, duplicate. Each is one transaction with its audit event."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from jobs.dispatch import release_items
from jobs.models import BatchJob, ItemStatus, JobItem
from jobs.state import ACTIVE, refresh_batch_status, transition
from media_library.models import AudioTrack, Presenter
from portal.queues import queue_is_available

PREVIEW_SECONDS = 5.0


class BatchRejected(Exception):
    """The batch cannot be created as asked; the message is for the user."""


class QueueDown(Exception):
    """Redis is unreachable: nothing was created (the caller answers 503)."""


def _check_inputs(department, audio: AudioTrack, presenters: list[Presenter], preview: bool) -> None:
    if not presenters:
        raise BatchRejected(_("Choose at least one presenter."))
    if preview and len(presenters) != 1:
        raise BatchRejected(_("A sample renders one presenter; choose exactly one."))
    if audio.department_id != department.pk or any(p.department_id != department.pk for p in presenters):
        raise BatchRejected(_("The audio and the presenters must belong to the same department."))
    if not audio.is_ready:
        raise BatchRejected(_("The audio '%(t)s' is not ready yet (status: %(s)s).") % {"t": audio, "s": audio.status})
    not_ready = [p.title for p in presenters if not p.is_ready]
    if not_ready:
        raise BatchRejected(_("These presenters are not ready: %(names)s.") % {"names": ", ".join(not_ready)})
    _check_monthly_minutes(department, audio, len(presenters), preview)


def output_seconds_this_month(department) -> float:
    """Seconds of output the department produced this calendar month (what the monthly quota counts)."""
    from django.db.models import Sum

    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        JobItem.objects.filter(
            department=department, status=ItemStatus.SUCCEEDED, finished_at__gte=month_start
        ).aggregate(total=Sum("output_duration"))["total"]
        or 0.0
    )


def _check_monthly_minutes(department, audio: AudioTrack, n: int, preview: bool) -> None:
    """Output minutes per month: what succeeded this month plus what this batch would add."""
    used_s = output_seconds_this_month(department)
    planned_s = (PREVIEW_SECONDS if preview else (audio.duration or 0.0)) * n
    quota_s = department.monthly_output_minutes * 60
    if used_s + planned_s > quota_s:
        raise BatchRejected(
            _(
                "This batch needs %(planned).1f output minutes but only %(left).1f of the department's "
                "%(quota)d monthly minutes are left."
            )
            % {
                "planned": planned_s / 60,
                "left": max(0.0, quota_s - used_s) / 60,
                "quota": department.monthly_output_minutes,
            }
        )


def create_batch(
    *,
    user,
    department,
    audio: AudioTrack,
    presenters: list[Presenter],
    backend: str = "warp",
    options: dict | None = None,
    preview: bool = False,
    idempotency_key: str = "",
    duplicated_from: BatchJob | None = None,
    request=None,
) -> BatchJob:
    """Create a batch with one waiting item per presenter and release what the quota allows."""
    _check_inputs(department, audio, presenters, preview)
    if not queue_is_available():
        raise QueueDown(_("The job queue is unreachable right now; nothing was started. Try again in a minute."))
    with transaction.atomic():
        batch = BatchJob.objects.create(
            department=department,
            creator=user,
            audio=audio,
            backend=backend,
            options=options or {},
            preview_seconds=PREVIEW_SECONDS if preview else None,
            idempotency_key=idempotency_key,
            duplicated_from=duplicated_from,
        )
        JobItem.objects.bulk_create(JobItem(batch=batch, department=department, presenter=p) for p in presenters)
        audit.record(
            "job.duplicate" if duplicated_from else "job.create",
            actor=user,
            department=department,
            obj=batch,
            request=request,
            details={
                "audio": {"id": audio.pk, "title": audio.title},
                "presenters": [{"id": p.pk, "title": p.title} for p in presenters],
                "backend": backend,
                "preview": preview,
                "duplicated_from": duplicated_from.pk if duplicated_from else None,
            },
        )
        transaction.on_commit(lambda: release_items([department.pk]))
    return batch


def cancel_batch(batch: BatchJob, *, user, request=None) -> int:
    """Cancel every unfinished item: queued ones never start, running ones stop at the next frame batch."""
    with transaction.atomic():
        BatchJob.objects.filter(pk=batch.pk).update(canceled_at=timezone.now())
        canceled = [
            item_id
            for item_id in batch.items.filter(status__in=ACTIVE).values_list("pk", flat=True)
            if transition(item_id, ItemStatus.CANCELED, stage="canceled", eta_seconds=None)
        ]
        refresh_batch_status(batch.pk)
        audit.record(
            "job.cancel",
            actor=user,
            department=batch.department,
            obj=batch,
            request=request,
            details={"items": canceled},
        )
        transaction.on_commit(lambda: release_items([batch.department_id]))
    return len(canceled)


def retry_failed(batch: BatchJob, *, user, request=None) -> int:
    """Put failed (and canceled) items back in line; they keep their history of attempts."""
    with transaction.atomic():
        retried = [
            item_id
            for item_id in batch.items.filter(status__in=(ItemStatus.FAILED, ItemStatus.CANCELED)).values_list(
                "pk", flat=True
            )
            if transition(
                item_id, ItemStatus.WAITING, error="", error_code="", progress=0, stage="", requeues=0, finished_at=None
            )
        ]
        if retried:
            BatchJob.objects.filter(pk=batch.pk).update(canceled_at=None)
            refresh_batch_status(batch.pk)
        audit.record(
            "job.retry", actor=user, department=batch.department, obj=batch, request=request, details={"items": retried}
        )
        transaction.on_commit(lambda: release_items([batch.department_id]))
    return len(retried)


def duplicate_batch(batch: BatchJob, *, user, request=None) -> BatchJob:
    """The same audio, presenters and options as a new batch."""
    presenters = [item.presenter for item in batch.items.select_related("presenter")]
    return create_batch(
        user=user,
        department=batch.department,
        audio=batch.audio,
        presenters=presenters,
        backend=batch.backend,
        options=batch.options,
        preview=batch.is_preview,
        duplicated_from=batch,
        request=request,
    )
