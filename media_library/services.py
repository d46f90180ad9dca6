"""The media library's domain actions. Each runs in one transaction with exactly one audit record.

Views, the API and the admin call these and nothing else to change media: the role check (accounts.permissions),
the quota re-check under a department lock, the file handling and the enqueueing of ingest all live here.
A failure at any step leaves nothing of the upload on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models.deletion import ProtectedError

from accounts import audit
from accounts.models import Department
from accounts.permissions import Action, can
from media_library import storage, validation
from media_library.models import AudioSource, AudioTrack, MediaStatus, Presenter, PresenterKind, Tag
from portal import queues
from synthesis.hashing import file_sha256

MediaRow = Presenter | AudioTrack

INGEST_PRESENTER = "media_library.ingest.ingest_presenter"
INGEST_AUDIO = "media_library.ingest.ingest_audio"
SYNTHESIZE_AUDIO = "media_library.ingest.synthesize_audio"


def _prefix(obj: MediaRow) -> str:
    return "presenter" if isinstance(obj, Presenter) else "audio"


def manage_action(obj_or_model) -> Action:
    model = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    return Action.MANAGE_PRESENTERS if model is Presenter else Action.MANAGE_AUDIO


def _require(user, action: Action, department: Department) -> None:
    if not can(user, action, department):
        raise PermissionDenied


def ingest_task(obj: MediaRow) -> str:
    """The RQ task that (re)analyses this row."""
    if isinstance(obj, Presenter):
        return INGEST_PRESENTER
    return SYNTHESIZE_AUDIO if obj.source == AudioSource.TTS and not obj.file else INGEST_AUDIO


def enqueue_ingest(obj: MediaRow) -> str:
    """Enqueue the row's ingest on commit and remember the job id (raises QueueUnavailable)."""
    job_id = queues.enqueue(queues.INGEST, ingest_task(obj), obj.pk, job_timeout=settings.INGEST_JOB_TIMEOUT_S)
    obj.ingest_job_id = job_id
    obj.ingest_attempts += 1
    obj.save(update_fields=["ingest_job_id", "ingest_attempts", "updated_at"])
    return job_id


def _lock_and_check_quota(department: Department, incoming: int, name: str) -> None:
    """Re-check the quota with the department row locked, so two parallel uploads cannot both squeeze in."""
    locked = Department.objects.select_for_update().get(pk=department.pk)
    validation.check_quota(locked, incoming, name)


def tags_for(department: Department, names: Iterable[str]) -> list[Tag]:
    """The department's tags with these names, created when new."""
    clean = {n.strip()[:60] for n in names if n and n.strip()}
    return [Tag.objects.get_or_create(department=department, name=n)[0] for n in sorted(clean)]


def _store_upload(uploaded: UploadedFile, department: Department, kind: str, judge, folder: str):
    """Size and quota checks, stream to disk, ffprobe judgement; returns (staged, info, name, hash)."""
    name = validation.display_name(uploaded.name)
    validation.check_size(uploaded.size or 0, kind, name)
    validation.check_quota(department, uploaded.size or 0, name)
    staged = storage.stage_upload(uploaded, department.pk, folder)
    try:
        info = judge(staged.path, name)
        digest = file_sha256(staged.path)
        staged.commit(storage.suffix_for(info.container, info.has_video))
    except BaseException:
        staged.discard()
        raise
    return staged, info, name, digest


def _save_upload(
    model: type[MediaRow],
    action: str,
    *,
    user,
    department: Department,
    uploaded: UploadedFile,
    limits,
    judge,
    folder: str,
    title: str,
    description: str,
    request,
    fields: Callable[[object], dict],
    after_create: Callable[[MediaRow], None] | None = None,
    details: Callable[[MediaRow], dict] | None = None,
) -> MediaRow:
    """The one upload flow: stage and judge the file, then in one transaction check the quota, create the
    row, enqueue its ingest and record the audit event. Whatever fails, the staged file is removed."""
    staged, info, name, digest = _store_upload(uploaded, department, limits, judge, folder)
    try:
        with transaction.atomic():
            _lock_and_check_quota(department, uploaded.size, name)
            row = model.objects.create(
                department=department,
                title=(title or name)[:200],
                description=description,
                uploaded_by=user,
                original_filename=name[:255],
                file=staged.name,
                size_bytes=uploaded.size,
                content_hash=digest,
                **fields(info),
            )
            if after_create is not None:
                after_create(row)
            enqueue_ingest(row)
            audit.record(
                action,
                actor=user,
                department=department,
                obj=row,
                request=request,
                details={
                    "title": row.title,
                    "filename": name,
                    "size": uploaded.size,
                    **(details(row) if details else {}),
                },
            )
    except BaseException:
        staged.discard()
        raise
    return row


def upload_presenter(
    *,
    user,
    department: Department,
    uploaded: UploadedFile,
    title: str = "",
    description: str = "",
    tags: Iterable[str] = (),
    request=None,
) -> Presenter:
    """Store and quickly judge a presenter video or photo, then enqueue its analysis."""
    _require(user, Action.MANAGE_PRESENTERS, department)
    return _save_upload(
        Presenter,
        "presenter.upload",
        user=user,
        department=department,
        uploaded=uploaded,
        limits=validation.VIDEO,
        judge=validation.judge_presenter,
        folder="presenters",
        title=title,
        description=description,
        request=request,
        fields=lambda info: {
            "kind": PresenterKind.PHOTO if info.is_still_image else PresenterKind.VIDEO,
            "width": info.width,
            "height": info.height,
            "duration": None if info.is_still_image else info.duration,
        },
        after_create=lambda presenter: presenter.tags.set(tags_for(department, tags)),
        details=lambda presenter: {"kind": str(presenter.kind)},
    )


def upload_audio(
    *,
    user,
    department: Department,
    uploaded: UploadedFile,
    title: str = "",
    language: str = "",
    description: str = "",
    request=None,
) -> AudioTrack:
    """Store and quickly judge an audio file, then enqueue its analysis."""
    _require(user, Action.MANAGE_AUDIO, department)
    return _save_upload(
        AudioTrack,
        "audio.upload",
        user=user,
        department=department,
        uploaded=uploaded,
        limits=validation.AUDIO,
        judge=validation.judge_audio,
        folder="audio",
        title=title,
        description=description,
        request=request,
        fields=lambda info: {
            "language": language,
            "duration": info.duration,
            "sample_rate": info.audio_sample_rate,
            "channels": info.audio_channels,
            "audio_codec": info.audio_codec or "",
        },
    )


def create_tts_audio(
    *,
    user,
    department: Department,
    title: str,
    text: str,
    language: str,
    voice: str = "",
    rate: int | None = None,
    request=None,
) -> AudioTrack:
    """Create an audio track spoken from text; a background job synthesises and then analyses it."""
    _require(user, Action.MANAGE_AUDIO, department)
    with transaction.atomic():
        _lock_and_check_quota(department, 0, title)
        track = AudioTrack.objects.create(
            department=department,
            title=title[:200],
            language=language,
            uploaded_by=user,
            source=AudioSource.TTS,
            tts_text=text,
            tts_voice=voice,
            tts_rate=rate,
        )
        enqueue_ingest(track)
        audit.record(
            "audio.tts",
            actor=user,
            department=department,
            obj=track,
            request=request,
            details={"title": track.title, "language": language, "voice": voice, "rate": rate, "chars": len(text)},
        )
    return track


def edit(obj: MediaRow, *, user, request=None, tags: Iterable[str] | None = None, **changes) -> MediaRow:
    """Change metadata (title, description, language, tags); records before/after."""
    _require(user, manage_action(obj), obj.department)
    allowed = {"title", "description", "language"}
    with transaction.atomic():
        before, after = {}, {}
        for field, value in changes.items():
            if field not in allowed or not hasattr(obj, field) or getattr(obj, field) == value:
                continue
            before[field], after[field] = getattr(obj, field), value
            setattr(obj, field, value)
        obj.save()
        if tags is not None and isinstance(obj, Presenter):
            old = sorted(obj.tags.values_list("name", flat=True))
            new_tags = tags_for(obj.department, tags)
            if old != sorted(t.name for t in new_tags):
                obj.tags.set(new_tags)
                before["tags"], after["tags"] = old, sorted(t.name for t in new_tags)
        audit.record(
            f"{_prefix(obj)}.edit",
            actor=user,
            department=obj.department,
            obj=obj,
            request=request,
            details={"before": before, "after": after},
        )
    return obj


def is_in_use(obj: MediaRow) -> bool:
    """Does any other row (a batch job, a job item...) reference this one? Found generically through
    the reverse relations, so the jobs app needs no hook here."""
    for rel in obj._meta.related_objects:
        if rel.related_model is Tag or not (rel.one_to_many or rel.one_to_one or rel.many_to_many):
            continue
        if rel.related_model._base_manager.filter(**{rel.field.name: obj}).exists():
            return True
    return False


def archive_or_delete(obj: MediaRow, *, user, request=None) -> str:
    """Archive a row used by a job (outputs stay explainable), delete an unused one with its files.

    Returns "archived" or "deleted".
    """
    _require(user, manage_action(obj), obj.department)
    prefix = _prefix(obj)
    with transaction.atomic():
        obj = type(obj).objects.select_for_update().get(pk=obj.pk)
        details = {"title": obj.title, "filename": obj.original_filename}
        if not is_in_use(obj):
            try:
                with transaction.atomic():
                    audit.record(
                        f"{prefix}.delete",
                        actor=user,
                        department=obj.department,
                        obj=obj,
                        request=request,
                        details=details,
                    )
                    obj.delete()  # the post_delete receiver removes the files on commit
                return "deleted"
            except ProtectedError:
                pass  # a job started using it since the check: archive instead
        if obj.archived_at is None:
            obj.archive()
        audit.record(
            f"{prefix}.archive", actor=user, department=obj.department, obj=obj, request=request, details=details
        )
    return "archived"


def restore(obj: MediaRow, *, user, request=None) -> MediaRow:
    """Bring an archived row back into the library."""
    return _set_fields(obj, user=user, request=request, archived_at=None)


def _set_fields(obj: MediaRow, *, user, request, **fields) -> MediaRow:
    _require(user, manage_action(obj), obj.department)
    with transaction.atomic():
        before = {k: str(getattr(obj, k)) for k in fields}
        for key, value in fields.items():
            setattr(obj, key, value)
        obj.save(update_fields=[*fields, "updated_at"])
        audit.record(
            f"{_prefix(obj)}.edit",
            actor=user,
            department=obj.department,
            obj=obj,
            request=request,
            details={"before": before, "after": {k: str(v) for k, v in fields.items()}},
        )
    return obj


def can_retry(obj: MediaRow) -> bool:
    """A row rejected by an infrastructure failure (not by its content) can be analysed again."""
    if obj.status != MediaStatus.REJECTED or not obj.analysis.get("retryable"):
        return False
    return bool(obj.file) or (isinstance(obj, AudioTrack) and obj.source == AudioSource.TTS)


def retry_ingest(obj: MediaRow, *, user, request=None) -> MediaRow:
    """Queue the analysis again after an infrastructure failure (raises QueueUnavailable)."""
    _require(user, manage_action(obj), obj.department)
    with transaction.atomic():
        obj = type(obj).objects.select_for_update().get(pk=obj.pk)
        if not can_retry(obj):
            return obj
        obj.status, obj.rejection_reason, obj.ingest_attempts = MediaStatus.PENDING, "", 0
        obj.analysis = {k: v for k, v in obj.analysis.items() if k != "retryable"}
        obj.save(update_fields=["status", "rejection_reason", "ingest_attempts", "analysis", "updated_at"])
        enqueue_ingest(obj)
        audit.record(
            f"{_prefix(obj)}.edit",
            actor=user,
            department=obj.department,
            obj=obj,
            request=request,
            details={"reanalyse": True},
        )
    return obj


def record_download(obj: MediaRow, *, user, what: str, request=None) -> None:
    """One audit record for a file leaving the portal."""
    with transaction.atomic():
        audit.record(
            "media.download",
            actor=user,
            department=obj.department,
            obj=obj,
            request=request,
            details={"file": what, "title": obj.title},
        )


def library(model: type[models.Model], user, department: Department | None):
    """The rows of the active department the user may see (the list pages' base queryset)."""
    return model.objects.for_user(user, Action.VIEW_MEDIA).filter(department=department)
