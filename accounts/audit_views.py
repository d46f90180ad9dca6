"""Auditor pages: the filtered timeline, its CSV export and the job history. Read-only, one department.

Who may look is decided by accounts.permissions (Action.VIEW_AUDIT) and which rows by the tenancy rule
(`AuditEvent.objects.for_user`): auditors and department admins see their active department's events,
platform staff see everything (including events without a department, such as staff logins).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.audit import AuditAction
from accounts.audit_forms import AuditFilterForm
from accounts.audit_models import AuditEvent
from accounts.permissions import Action, can
from jobs.models import BatchJob, JobItem

PAGE_SIZE = 50
JOBS_PAGE_SIZE = 20
CSV_COLUMNS = [
    "seq", "time", "user", "department", "action", "object_type", "object_id", "object", "request_id", "ip",
    "user_agent", "details", "hash",
]
BATCH_TYPE = BatchJob._meta.label_lower
ITEM_TYPE = JobItem._meta.label_lower


def visible_events(request) -> QuerySet:
    """The events this viewer may read; 403 without Action.VIEW_AUDIT in the active department."""
    user = request.user
    if user.is_superuser:
        return AuditEvent.objects.for_user(user)
    department = request.department or None
    if not can(user, Action.VIEW_AUDIT, department):
        raise PermissionDenied
    return AuditEvent.objects.for_user(user, Action.VIEW_AUDIT).filter(department=department)


def _filter_form(request) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None, staff=request.user.is_superuser)


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def timeline(request):
    events = visible_events(request)
    form = _filter_form(request)
    page = Paginator(form.apply(events).select_related("department"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/timeline.html", {"form": form, "page": page, "query": _query_without_page(request)})


class _Echo:
    """csv.writer target that hands each row straight to the streaming response."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    """No spreadsheet formulas from user-controlled text (titles, user agents)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(events: QuerySet):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for e in events.select_related("department").order_by("seq").iterator(chunk_size=1000):
        row = [
            e.seq, e.created_at.isoformat(), e.actor_username, e.department.slug if e.department else "", e.action,
            e.object_type, e.object_id, e.object_repr, e.request_id, e.ip or "", e.user_agent,
            json.dumps(e.details, sort_keys=True, ensure_ascii=False), e.hash,
        ]
        yield writer.writerow([_cell(v) for v in row])


@login_required
@require_GET
def export_csv(request):
    events = visible_events(request)
    form = _filter_form(request)
    filtered = form.apply(events)
    audit.record(
        AuditAction.AUDIT_EXPORT,
        actor=request.user,
        department=request.department or None,
        request=request,
        details={"filters": {k: str(v) for k, v in form.cleaned_data.items() if v} if form.is_bound else {}},
    )
    response = StreamingHttpResponse(_csv_rows(filtered), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


@dataclass
class BatchHistory:
    """One batch as the audit trail tells it."""

    batch_id: str
    launched: AuditEvent
    batch: BatchJob | None
    audio: str
    presenters: list[str]
    outcome: str
    item_counts: dict[str, int] = field(default_factory=dict)
    actions: list[AuditEvent] = field(default_factory=list)  # cancel, retry
    downloads: list[AuditEvent] = field(default_factory=list)  # ZIP and single videos


def _histories(request, events: QuerySet, launches: list[AuditEvent]) -> list[BatchHistory]:
    ids = [int(e.object_id) for e in launches if e.object_id.isdigit()]
    batches = BatchJob.objects.for_user(request.user, Action.VIEW_AUDIT).in_bulk(ids)
    item_batch: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    items = JobItem.objects.filter(batch_id__in=batches).values_list("pk", "batch_id", "status")
    for item_id, batch_id, status in items:
        item_batch[str(item_id)] = str(batch_id)
        counts[str(batch_id)][status] += 1
    followups = events.filter(
        Q(object_type=BATCH_TYPE, object_id__in=[str(i) for i in ids], action__in=[
            AuditAction.JOB_CANCEL, AuditAction.JOB_RETRY, AuditAction.JOB_DOWNLOAD_ZIP,
        ])
        | Q(object_type=ITEM_TYPE, object_id__in=list(item_batch), action=AuditAction.ITEM_DOWNLOAD)
    ).order_by("seq")
    by_batch: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in followups:
        key = item_batch.get(event.object_id, "") if event.object_type == ITEM_TYPE else event.object_id
        by_batch[key].append(event)
    rows = []
    for launch in launches:
        batch = batches.get(int(launch.object_id)) if launch.object_id.isdigit() else None
        details = launch.details or {}
        later = by_batch.get(launch.object_id, [])
        rows.append(
            BatchHistory(
                batch_id=launch.object_id,
                launched=launch,
                batch=batch,
                audio=(details.get("audio") or {}).get("title", ""),
                presenters=[p.get("title", "") for p in details.get("presenters", [])],
                outcome=batch.get_status_display() if batch else "",
                item_counts=dict(counts.get(launch.object_id, {})),
                actions=[e for e in later if e.action in (AuditAction.JOB_CANCEL, AuditAction.JOB_RETRY)],
                downloads=[e for e in later if e.action in (AuditAction.JOB_DOWNLOAD_ZIP, AuditAction.ITEM_DOWNLOAD)],
            )
        )
    return rows


@login_required
@require_GET
def job_history(request):
    """For each batch: who launched it with which audio and presenters, its outcome, who acted on it and who
    downloaded what (audit events joined on object type and id)."""
    events = visible_events(request)
    launches = events.filter(object_type=BATCH_TYPE, action__in=[AuditAction.JOB_CREATE, AuditAction.JOB_DUPLICATE])
    batch = request.GET.get("batch", "").strip()
    if batch:
        launches = launches.filter(object_id=batch)
    page = Paginator(launches, JOBS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/job_history.html",
        {"page": page, "rows": _histories(request, events, list(page.object_list)), "batch": batch},
    )
