"""Batch job pages: list, create, detail with live progress, actions, downloads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can
from accounts.tenancy import get_for_user_or_404
from jobs import history, services, summary
from jobs.downloads import batch_zip_response, is_downloadable, item_download_response
from jobs.forms import BatchForm
from jobs.models import BatchJob, JobItem
from portal.file_serving import serve_file


@login_required
def job_list(request):
    """Job history with filters (jobs.history, shared with the CSV export) and pagination."""
    batches, filters = history.filtered_batches(request)
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "filtered": any(filters.values()), **history.filter_choices(request)}
    return render(request, "jobs/list.html", context)


@login_required
def job_create(request):
    department = request.department or None
    if not can(request.user, Action.RUN_JOBS, department):
        raise PermissionDenied
    initial = {"audio": request.GET.get("audio"), "presenters": request.GET.getlist("presenters")}
    form = BatchForm(request.POST or None, user=request.user, department=department, initial=initial)
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
            return render(request, "503.html", {"message": str(exc)}, status=503)
        else:
            return redirect("job_detail", pk=batch.pk)
    return render(request, "jobs/create.html", _create_context(form, department))


def _create_context(form: BatchForm, department) -> dict:
    """The new-batch page: the choices with what the estimate needs (durations, tags, minutes left)."""
    data = form.data if form.is_bound else None
    chosen_audio = str(data.get("audio", "") if data is not None else form.initial.get("audio") or "")
    chosen = set(data.getlist("presenters") if data is not None else form.initial.get("presenters") or [])
    presenters = list(form.fields["presenters"].queryset.order_by("title"))
    for p in presenters:
        p.tag_names = [t.name for t in p.tags.all()]
    used_minutes = services.output_seconds_this_month(department) / 60
    return {
        "form": form,
        "audios": form.fields["audio"].queryset.order_by("-created_at"),
        "presenters": presenters,
        "tags": sorted({name for p in presenters for name in p.tag_names}),
        "chosen_audio": chosen_audio,
        "chosen_presenters": chosen,
        "minutes_left": max(0.0, department.monthly_output_minutes - used_minutes),
        "sample_seconds": services.PREVIEW_SECONDS,
    }


def _batch(request, pk: int, action: Action = Action.VIEW_JOBS) -> BatchJob:
    return get_for_user_or_404(BatchJob.objects.select_related("audio", "creator"), request.user, action, pk=pk)


def _item_rows(batch: BatchJob) -> list[JobItem]:
    return list(batch.items.select_related("presenter"))


@login_required
def job_detail(request, pk: int):
    batch = _batch(request, pk)
    items = _item_rows(batch)
    can_download = can(request.user, Action.DOWNLOAD_OUTPUTS, batch.department)
    for item in items:
        item.ui = summary.item_extras(item, can_download)
    return render(
        request,
        "jobs/detail.html",
        {
            "batch": batch,
            "items": items,
            "state": summary.batch_state(items),
            "can_run": can(request.user, Action.RUN_JOBS, batch.department),
            "can_download": can_download,
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
    """Polled by the job page: the batch and every item, with the page's texts in the user's language."""
    batch = _batch(request, pk)
    items = _item_rows(batch)
    can_download = can(request.user, Action.DOWNLOAD_OUTPUTS, batch.department)
    return JsonResponse(
        {
            "id": batch.pk,
            "status": batch.status,
            "status_label": batch.get_status_display(),
            **summary.batch_state(items),
            "items": [item_state(item) | summary.item_extras(item, can_download) for item in items],
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
        return render(request, "503.html", {"message": str(exc)}, status=503)
    return redirect("job_detail", pk=copy.pk)


@login_required
def job_zip(request, pk: int):
    return batch_zip_response(request, _batch(request, pk, Action.DOWNLOAD_OUTPUTS))


def _finished_item(request, pk: int) -> JobItem:
    item = get_for_user_or_404(JobItem.objects.select_related("batch__audio", "presenter"), request.user,
                               Action.DOWNLOAD_OUTPUTS, pk=pk)
    if not is_downloadable(item):
        raise Http404
    return item


@login_required
def item_download(request, pk: int):
    return item_download_response(request, _finished_item(request, pk))


@login_required
def item_preview(request, pk: int):
    """Inline playback (Range requests from the video element); not audited per range request."""
    item = _finished_item(request, pk)
    return serve_file(request, item.output, content_type="video/mp4")
