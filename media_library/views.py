"""Media library pages: presenter and audio libraries, upload, text to speech, detail, edit, archive/delete.

Rows come from `for_user` (another department's row is a 404), roles from accounts.permissions (403), and every
change goes through services.py. When the job queue is down the page says so with a 503 and keeps nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from accounts.tenancy import get_for_user_or_404
from media_library import forms, services
from media_library.models import AudioTrack, MediaStatus, Presenter, Tag
from media_library.validation import UploadRejected
from portal.queues import QueueUnavailable

PAGE_SIZE = 24


def wants_json(request) -> bool:
    """The upload pages' script posts each file on its own (for per-file progress) and asks for JSON."""
    return request.headers.get("Accept", "").startswith("application/json")


def queue_unavailable(request, exc: QueueUnavailable):
    if wants_json(request):
        return JsonResponse({"errors": [str(exc)]}, status=503)
    return render(request, "503.html", {"message": str(exc)}, status=503)


def _upload_answer(request, form, template: str, created: list | None = None, detail: str = ""):
    """The answer to an upload POST: JSON for the page's script, a redirect or the form for plain posts."""
    if wants_json(request) and request.method == "POST":
        if form.errors:
            return JsonResponse({"errors": [m for errors in form.errors.values() for m in errors]}, status=400)
        rows = [{"id": o.pk, "title": o.title, "url": reverse(detail, args=[o.pk])} for o in created or []]
        return JsonResponse({"created": rows, "redirect": rows[0]["url"] if len(rows) == 1 else ""}, status=201)
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


def _require_create(request, action: Action) -> None:
    if not can(request.user, action, request.department or None):
        raise PermissionDenied


def _post_only(request):
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _filtered(request, model):
    rows = services.library(model, request.user, request.department or None)
    query = request.GET.get("q", "").strip()
    if query:
        rows = rows.filter(Q(title__icontains=query) | Q(description__icontains=query))
    if request.GET.get("archived") == "1":
        rows = rows.filter(archived_at__isnull=False)
    else:
        rows = rows.filter(archived_at__isnull=True)
    status = request.GET.get("status", "")
    if status in MediaStatus.values:
        rows = rows.filter(status=status)
    return rows, query


# ------------------------------------------------------------------------------------------------ presenters
@login_required
def presenter_list(request):
    rows, query = _filtered(request, Presenter)
    tag = request.GET.get("tag", "").strip()
    if tag:
        rows = rows.filter(tags__name=tag)
    page = Paginator(rows.prefetch_related("tags").distinct(), PAGE_SIZE).get_page(request.GET.get("page"))
    tags = Tag.objects.for_user(request.user, Action.VIEW_MEDIA).filter(department=request.department or None)
    return render(
        request,
        "media_library/presenter_list.html",
        {
            "page": page,
            "query": query,
            "tag": tag,
            "tags": tags,
            "archived": request.GET.get("archived") == "1",
            "status": request.GET.get("status", ""),
            "statuses": MediaStatus.choices,
            "can_manage": can(request.user, Action.MANAGE_PRESENTERS, request.department or None),
        },
    )


@login_required
def presenter_upload(request):
    _require_create(request, Action.MANAGE_PRESENTERS)
    form = forms.PresenterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        files = data["files"]
        created, rejected = [], []
        for uploaded in files:
            title = data["title"]
            if title and len(files) > 1:
                title = f"{title} ({uploaded.name})"
            try:
                created.append(
                    services.upload_presenter(
                        user=request.user,
                        department=request.department,
                        uploaded=uploaded,
                        title=title,
                        description=data["description"],
                        tags=forms.split_tags(data["tags"]),
                        request=request,
                    )
                )
            except UploadRejected as exc:
                rejected.append(str(exc))
            except QueueUnavailable as exc:
                return queue_unavailable(request, exc)
        for presenter in created:
            messages.success(request, _("%(title)s uploaded; it is being analysed.") % {"title": presenter.title})
        for message in rejected:
            form.add_error("files", message)
        if wants_json(request):
            return _upload_answer(request, form, "", created, "media_library:presenter_detail")
        if not rejected:
            return redirect(
                "media_library:presenter_detail" if len(created) == 1 else "media_library:presenters",
                *([created[0].pk] if len(created) == 1 else []),
            )
    return _upload_answer(request, form, "media_library/presenter_upload.html")


@login_required
def presenter_detail(request, pk: int):
    presenter = get_for_user_or_404(Presenter, request.user, Action.VIEW_MEDIA, pk=pk)
    return render(
        request,
        "media_library/presenter_detail.html",
        {
            "presenter": presenter,
            "can_manage": can(request.user, Action.MANAGE_PRESENTERS, presenter.department),
            "can_retry": services.can_retry(presenter),
            "in_use": services.is_in_use(presenter),
        },
    )


@login_required
def presenter_edit(request, pk: int):
    presenter = get_for_user_or_404(Presenter, request.user, Action.MANAGE_PRESENTERS, pk=pk)
    initial = {
        "title": presenter.title,
        "description": presenter.description,
        "tags": ", ".join(presenter.tags.values_list("name", flat=True)),
    }
    form = forms.PresenterEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.edit(
            presenter,
            user=request.user,
            request=request,
            title=data["title"],
            description=data["description"],
            tags=forms.split_tags(data["tags"]),
        )
        messages.success(request, _("Saved."))
        return redirect("media_library:presenter_detail", pk=presenter.pk)
    return render(request, "media_library/edit.html", {"form": form, "obj": presenter, "kind": "presenter"})


# ------------------------------------------------------------------------------------------------ audio
@login_required
def audio_list(request):
    rows, query = _filtered(request, AudioTrack)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "media_library/audio_list.html",
        {
            "page": page,
            "query": query,
            "archived": request.GET.get("archived") == "1",
            "status": request.GET.get("status", ""),
            "statuses": MediaStatus.choices,
            "can_manage": can(request.user, Action.MANAGE_AUDIO, request.department or None),
        },
    )


@login_required
def audio_upload(request):
    _require_create(request, Action.MANAGE_AUDIO)
    form = forms.AudioUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            track = services.upload_audio(
                user=request.user,
                department=request.department,
                uploaded=data["file"],
                title=data["title"],
                language=data["language"],
                description=data["description"],
                request=request,
            )
        except UploadRejected as exc:
            form.add_error("file", str(exc))
        except QueueUnavailable as exc:
            return queue_unavailable(request, exc)
        else:
            messages.success(request, _("%(title)s uploaded; it is being analysed.") % {"title": track.title})
            if wants_json(request):
                return _upload_answer(request, form, "", [track], "media_library:audio_detail")
            return redirect("media_library:audio_detail", pk=track.pk)
    return _upload_answer(request, form, "media_library/audio_upload.html")


@login_required
def audio_tts(request):
    _require_create(request, Action.MANAGE_AUDIO)
    form = forms.TtsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            track = services.create_tts_audio(
                user=request.user,
                department=request.department,
                title=data["title"],
                text=data["text"],
                language=data["language"],
                voice=data["voice"],
                rate=data["rate"],
                request=request,
            )
        except UploadRejected as exc:
            form.add_error(None, str(exc))
        except QueueUnavailable as exc:
            return queue_unavailable(request, exc)
        else:
            messages.success(request, _("%(title)s is being spoken and analysed.") % {"title": track.title})
            return redirect("media_library:audio_detail", pk=track.pk)
    return render(request, "media_library/audio_tts.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def audio_detail(request, pk: int):
    track = get_for_user_or_404(AudioTrack, request.user, Action.VIEW_MEDIA, pk=pk)
    return render(
        request,
        "media_library/audio_detail.html",
        {
            "track": track,
            "can_manage": can(request.user, Action.MANAGE_AUDIO, track.department),
            "can_retry": services.can_retry(track),
            "in_use": services.is_in_use(track),
        },
    )


@login_required
def audio_edit(request, pk: int):
    track = get_for_user_or_404(AudioTrack, request.user, Action.MANAGE_AUDIO, pk=pk)
    initial = {"title": track.title, "description": track.description, "language": track.language}
    form = forms.AudioEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.edit(track, user=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("media_library:audio_detail", pk=track.pk)
    return render(request, "media_library/edit.html", {"form": form, "obj": track, "kind": "audio"})


# ------------------------------------------------------------------------------------------------ shared actions
MODELS = {"presenter": Presenter, "audio": AudioTrack}


def _detail_url(kind: str) -> str:
    return "media_library:presenter_detail" if kind == "presenter" else "media_library:audio_detail"


@login_required
def remove(request, kind: str, pk: int):
    """GET: confirm (says whether it will be archived or deleted); POST: archive or delete."""
    model = MODELS[kind]
    obj = get_for_user_or_404(model, request.user, services.manage_action(model), pk=pk)
    if request.method != "POST":
        return render(
            request, "media_library/confirm_remove.html", {"obj": obj, "kind": kind, "in_use": services.is_in_use(obj)}
        )
    title = obj.title
    outcome = services.archive_or_delete(obj, user=request.user, request=request)
    if outcome == "archived":
        messages.success(request, _("%(title)s was used by jobs, so it was archived.") % {"title": title})
        return redirect(_detail_url(kind), pk=pk)
    messages.success(request, _("%(title)s was deleted with its files.") % {"title": title})
    return redirect("media_library:presenters" if kind == "presenter" else "media_library:audio")


@login_required
def restore(request, kind: str, pk: int):
    model = MODELS[kind]
    obj = get_for_user_or_404(model, request.user, services.manage_action(model), pk=pk)
    if not_allowed := _post_only(request):
        return not_allowed
    services.restore(obj, user=request.user, request=request)
    messages.success(request, _("Restored to the library."))
    return redirect(_detail_url(kind), pk=pk)


@login_required
def reanalyse(request, kind: str, pk: int):
    model = MODELS[kind]
    obj = get_for_user_or_404(model, request.user, services.manage_action(model), pk=pk)
    if not_allowed := _post_only(request):
        return not_allowed
    try:
        services.retry_ingest(obj, user=request.user, request=request)
    except QueueUnavailable as exc:
        return queue_unavailable(request, exc)
    messages.success(request, _("Analysis queued again."))
    return redirect(_detail_url(kind), pk=pk)
