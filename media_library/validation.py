"""Upload checks done inside the web request: size, department quota, and a quick ffprobe judgement.

Content is judged by ffprobe (plus a decode of the first and last second) under a timeout, never by the
extension or the MIME type the browser sent. Every refusal is an `UploadRejected` whose message is written
for the uploader and names their file, not our temporary one.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from django.conf import settings
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from synthesis.errors import InputError
from synthesis.probe import MediaInfo, MediaLimits, probe_media, require_audio, require_video

VIDEO, AUDIO = "video", "audio"
#: a presenter picture smaller than this cannot show a usable face
MIN_PRESENTER_SIDE = 64


class UploadRejected(Exception):
    """The upload cannot be accepted; str(exc) is the message for the uploader."""


def display_name(uploaded_name: str | None) -> str:
    """The uploaded filename reduced to something safe to show: last path part, printable, bounded."""
    name = PureWindowsPath(PurePosixPath(uploaded_name or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:200] or _("unnamed file")


def limits() -> MediaLimits:
    return MediaLimits(
        max_duration_s=settings.MAX_MEDIA_DURATION_S,
        max_width=settings.MAX_VIDEO_WIDTH,
        max_height=settings.MAX_VIDEO_HEIGHT,
    )


def check_size(size: int, kind: str, name: str) -> None:
    """Refuse a file over the configured per-kind size limit (nginx should already have capped it)."""
    limit = settings.MAX_VIDEO_UPLOAD_BYTES if kind == VIDEO else settings.MAX_AUDIO_UPLOAD_BYTES
    if size == 0:
        raise UploadRejected(_("%(name)s is empty (0 bytes).") % {"name": name})
    if size > limit:
        raise UploadRejected(
            _("%(name)s is %(size)s; the largest accepted %(kind)s file is %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(size),
                "kind": _("video") if kind == VIDEO else _("audio"),
                "limit": filesizeformat(limit),
            }
        )


def department_usage(department) -> int:
    """Bytes the department's media rows hold on disk (as recorded on the rows)."""
    from media_library.models import AudioTrack, Presenter

    return sum(
        model.objects.filter(department=department).aggregate(total=Sum("size_bytes"))["total"] or 0
        for model in (Presenter, AudioTrack)
    )


def check_quota(department, incoming_bytes: int, name: str) -> None:
    """Refuse a file that would take the department over its storage quota."""
    used = department_usage(department)
    quota = department.storage_quota_bytes
    if used + incoming_bytes > quota:
        raise UploadRejected(
            _(
                "%(name)s (%(size)s) does not fit: %(department)s uses %(used)s of its %(quota)s storage quota. "
                "Delete media you no longer need, or ask an administrator for more space."
            )
            % {
                "name": name,
                "size": filesizeformat(incoming_bytes),
                "department": department.name,
                "used": filesizeformat(used),
                "quota": filesizeformat(quota),
            }
        )


def _probe(path: Path, name: str) -> MediaInfo:
    try:
        return probe_media(path, limits=limits(), timeout=settings.MEDIA_PROBE_TIMEOUT_S, verify_decode=True)
    except InputError as exc:
        raise UploadRejected(_named(exc, path, name)) from exc


def _named(exc: Exception, path: Path, name: str) -> str:
    """Engine messages name the file they read; show the uploader's name instead of our temporary one."""
    return str(exc).replace(path.name, name)


def judge_presenter(path: Path, name: str) -> MediaInfo:
    """A presenter must be a readable video or photo with a sensible picture size."""
    info = _probe(path, name)
    try:
        require_video(info)
    except InputError as exc:
        raise UploadRejected(
            _("%(name)s has no picture (it is audio only); a presenter must be a video or a photo.") % {"name": name}
        ) from exc
    if min(info.width, info.height) < MIN_PRESENTER_SIDE:
        raise UploadRejected(
            _("%(name)s is only %(w)sx%(h)s pixels; a presenter needs at least %(min)s pixels on each side.")
            % {"name": name, "w": info.width, "h": info.height, "min": MIN_PRESENTER_SIDE}
        )
    return info


def judge_audio(path: Path, name: str) -> MediaInfo:
    """An audio track must have a sound stream (a video with sound is accepted; only its audio is used)."""
    info = _probe(path, name)
    try:
        require_audio(info)
    except InputError as exc:
        if info.is_still_image:
            message = _("%(name)s is a picture, not audio; please upload an audio file.")
        else:
            message = _("%(name)s has no sound (it is a video without an audio track); please upload an audio file.")
        raise UploadRejected(message % {"name": name}) from exc
    return info
