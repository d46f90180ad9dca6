"""Batch job pages: list, create, detail with live progress, actions, downloads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.permissions import Action, can
from accounts.tenancy import get_for_user_or_404
from jobs import services
from jobs.forms import BatchForm
from jobs.models import BatchJob, BatchStatus, ItemStatus, JobItem
from jobs.zipstream import manifest_csv, stream_zip, unique_names
from portal.file_serving import serve_file


@login_required
def job_list(request):
    department = request.department or None
    batches = BatchJob.objects.for_user(request.user, Action.VIEW_JOBS).filter(department=department)
    status = request.GET.get("status", "")
    if status in BatchStatus.values:
        batches = batches.filter(status=status)
    page = Paginator(batches.select_related("audio", "creator"), 25).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {"page": page, "status": status, "statuses": BatchStatus.choices})


@login_required
def job_create(request):
    department = request.department or None
    if not can(request.user, Action.RUN_JOBS, department):
        raise PermissionDenied
    form = BatchForm(request.POST or None, user=request.user, department=department)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.create_batch(
                user=request.user,
                department=department,
                audio=form.cleaned_data["audio"],
                presenters=list(form.cleaned_data["presenters"]),
                backend=form.cleaned_data["backend"],
                preview=form.cleaned_data["preview"],
                request=request,
            )
        except services.BatchRejected as exc:
            form.add_error(None, str(exc))
        except services.QueueDown as exc:
            return render(request, "jobs/unavailable.html", {"message": str(exc)}, status=503)
        else:
            return redirect("job_detail", pk=batch.pk)
    return render(request, "jobs/create.html", {"form": form})


def _batch(request, pk: int, action: Action = Action.VIEW_JOBS) -> BatchJob:
    return get_for_user_or_404(BatchJob.objects.select_related("audio", "creator"), request.user, action, pk=pk)


def _item_rows(batch: BatchJob) -> list[JobItem]:
    return list(batch.items.select_related("presenter"))


@login_required
def job_detail(request, pk: int):
    batch = _batch(request, pk)
    return render(
        request,
        "jobs/detail.html",
        {
            "batch": batch,
            "items": _item_rows(batch),
            "can_run": can(request.user, Action.RUN_JOBS, batch.department),
            "can_download": can(request.user, Action.DOWNLOAD_OUTPUTS, batch.department),
            "show_traceback": request.user.is_superuser,
        },
    )


def item_state(item: JobItem) -> dict:
    """What the live progress view needs for one item."""
    return {
        "id": item.pk,
        "presenter": item.presenter.title,
        "status": item.status,
        "status_label": item.get_status_display(),
        "progress": round(item.progress, 1),
        "stage": item.stage,
        "eta_seconds": round(item.eta_seconds) if item.eta_seconds is not None else None,
        "error": item.error,
        "sync_score": item.sync_score,
        "attempts": item.attempts,
    }


@login_required
def job_status(request, pk: int):
    batch = _batch(request, pk)
    return JsonResponse(
        {
            "id": batch.pk,
            "status": batch.status,
            "status_label": batch.get_status_display(),
            "items": [item_state(item) for item in _item_rows(batch)],
        }
    )


@login_required
@require_POST
def job_cancel(request, pk: int):
    batch = _batch(request, pk, Action.RUN_JOBS)
    count = services.cancel_batch(batch, user=request.user, request=request)
    messages.success(request, _("%(n)d item(s) canceled.") % {"n": count})
    return redirect("job_detail", pk=pk)


@login_required
@require_POST
def job_retry(request, pk: int):
    batch = _batch(request, pk, Action.RUN_JOBS)
    count = services.retry_failed(batch, user=request.user, request=request)
    messages.success(request, _("%(n)d item(s) queued again.") % {"n": count})
    return redirect("job_detail", pk=pk)


@login_required
@require_POST
def job_duplicate(request, pk: int):
    batch = _batch(request, pk, Action.RUN_JOBS)
    try:
        copy = services.duplicate_batch(batch, user=request.user, request=request)
    except services.BatchRejected as exc:
        messages.error(request, str(exc))
        return redirect("job_detail", pk=pk)
    except services.QueueDown as exc:
        return render(request, "jobs/unavailable.html", {"message": str(exc)}, status=503)
    return redirect("job_detail", pk=copy.pk)


@login_required
def job_zip(request, pk: int):
    batch = _batch(request, pk, Action.DOWNLOAD_OUTPUTS)
    items = _item_rows(batch)
    done = [i for i in items if i.status == ItemStatus.SUCCEEDED and i.output]
    names = dict(zip([i.pk for i in done], unique_names(i.output_name for i in done), strict=True))
    rows = [
        {
            "file": names.get(i.pk, ""),
            "presenter": i.presenter.title,
            "status": i.status,
            "duration_s": f"{i.output_duration:.2f}" if i.output_duration else "",
            "sync_score": f"{i.sync_score:.3f}" if i.sync_score is not None else "",
            "error": i.error,
        }
        for i in items
    ]
    audit.record("job.download_zip", actor=request.user, department=batch.department, obj=batch, request=request,
                 details={"items": [i.pk for i in done]})
    response = StreamingHttpResponse(
        stream_zip([(names[i.pk], i.output.path) for i in done], [("manifest.csv", manifest_csv(rows))]),
        content_type="application/zip",
    )
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}.zip"'
    return response


def _finished_item(request, pk: int) -> JobItem:
    item = get_for_user_or_404(JobItem.objects.select_related("batch__audio", "presenter"), request.user,
                               Action.DOWNLOAD_OUTPUTS, pk=pk)
    if item.status != ItemStatus.SUCCEEDED or not item.output:
        raise Http404
    return item


@login_required
def item_download(request, pk: int):
    item = _finished_item(request, pk)
    audit.record("item.download", actor=request.user, department=item.department, obj=item, request=request)
    return serve_file(request, item.output, download_name=item.output_name, as_attachment=True,
                      content_type="video/mp4")


@login_required
def item_preview(request, pk: int):
    """Inline playback (Range requests from the video element); not audited per range request."""
    item = _finished_item(request, pk)
    return serve_file(request, item.output, content_type="video/mp4")
