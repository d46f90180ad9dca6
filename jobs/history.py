"""Job history: the filters shared by the history page and its CSV export (one place for both)."""

from __future__ import annotations

import csv
from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.permissions import Action, can
from jobs import summary
from jobs.models import BatchJob, BatchStatus, ItemStatus, JobItem
from media_library.models import AudioTrack

FILTER_KEYS = ("status", "audio", "creator", "q", "from", "to")


def _day(value: str, end: bool = False):
    day = parse_date(value or "")
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def filtered_batches(request):
    """(batches of the active department the user may see, filtered by the query string; the filter values)."""
    department = request.department or None
    if not can(request.user, Action.VIEW_JOBS, department):
        raise PermissionDenied
    batches = BatchJob.objects.for_user(request.user, Action.VIEW_JOBS).filter(department=department)
    values = {key: request.GET.get(key, "").strip() for key in FILTER_KEYS}
    if values["status"] in BatchStatus.values:
        batches = batches.filter(status=values["status"])
    else:
        values["status"] = ""
    if values["audio"].isdigit():
        batches = batches.filter(audio_id=int(values["audio"]))
    if values["creator"]:
        batches = batches.filter(creator__username=values["creator"])
    if values["q"]:
        with_presenter = JobItem.objects.filter(presenter__title__icontains=values["q"]).values("batch_id")
        batches = batches.filter(Q(audio__title__icontains=values["q"]) | Q(pk__in=with_presenter))
    if start := _day(values["from"]):
        batches = batches.filter(created_at__gte=start)
    if end := _day(values["to"], end=True):
        batches = batches.filter(created_at__lte=end)
    batches = summary.with_progress(batches.select_related("audio", "creator")).order_by("-created_at", "-pk")
    return batches, values


def filter_choices(request) -> dict:
    """Options of the history page's filter selects (the active department's audio tracks and job creators)."""
    department = request.department or None
    audios = AudioTrack.objects.for_user(request.user, Action.VIEW_MEDIA).filter(
        department=department, batches__isnull=False
    )
    creators = (
        BatchJob.objects.for_user(request.user, Action.VIEW_JOBS)
        .filter(department=department, creator__isnull=False)
        .values_list("creator__username", flat=True)
        .distinct()
        .order_by("creator__username")
    )
    return {"statuses": BatchStatus.choices, "audios": audios.distinct().order_by("title"), "creators": list(creators)}


CSV_COLUMNS = [
    "id", "created_at", "creator", "audio", "status", "sample", "backend", "items", "succeeded", "failed",
    "output_seconds", "started_at", "finished_at",
]


@login_required
def job_export(request):
    """The filtered history as CSV (the same rows as the page, without pagination)."""
    batches, _values = filtered_batches(request)
    batches = batches.annotate(
        output_seconds=Sum("items__output_duration", filter=Q(items__status=ItemStatus.SUCCEEDED))
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="jobs-{timezone.localdate():%Y-%m-%d}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read UTF-8 (Chinese titles) correctly
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for b in batches.order_by("-created_at"):
        writer.writerow(
            [
                b.pk,
                timezone.localtime(b.created_at).isoformat(timespec="seconds"),
                b.creator.username if b.creator else "",
                b.audio.title,
                b.status,
                "yes" if b.is_preview else "no",
                b.backend,
                b.n_items,
                b.n_succeeded,
                b.n_failed,
                f"{b.output_seconds:.1f}" if b.output_seconds else "0",
                timezone.localtime(b.started_at).isoformat(timespec="seconds") if b.started_at else "",
                timezone.localtime(b.finished_at).isoformat(timespec="seconds") if b.finished_at else "",
            ]
        )
    return response
