"""Permission-checked file URLs of the media library (media has no public URL).

Thumbnails, previews, waveforms and the 16 kHz listening copy are what the pages embed; originals leave as
downloads and each one is audited (a resumed download's later Range requests are not counted again).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_required
from django.http import Http404

from accounts.permissions import Action
from accounts.tenancy import get_for_user_or_404
from media_library import services
from media_library.models import AudioTrack, Presenter
from portal.file_serving import parse_range, serve_file

PRESENTER_FILES = {"thumbnail": "thumbnail", "preview": "preview", "original": "file"}
AUDIO_FILES = {"waveform": "waveform", "listen": "analysis_copy", "original": "file"}


def _download_name(obj, fieldfile) -> str:
    suffix = PurePosixPath(fieldfile.name).suffix
    stem = PurePosixPath(obj.original_filename).stem if obj.original_filename else obj.title
    return f"{stem or 'media'}{suffix}"


def _serve(request, obj, fields: dict[str, str], what: str):
    if what not in fields:
        raise Http404
    fieldfile = getattr(obj, fields[what])
    if what != "original":
        return serve_file(request, fieldfile)
    if fieldfile and not _is_continuation(request, fieldfile):
        services.record_download(obj, user=request.user, what=what, request=request)
    return serve_file(request, fieldfile, download_name=_download_name(obj, fieldfile), as_attachment=True)


def _is_continuation(request, fieldfile) -> bool:
    """A Range request that does not start at byte 0 continues a download already recorded."""
    header = request.headers.get("Range", "")
    if not header:
        return False
    try:
        wanted = parse_range(header, fieldfile.size)
    except OSError:
        return False
    return isinstance(wanted, tuple) and wanted[0] > 0


@login_required
def presenter_file(request, pk: int, what: str):
    presenter = get_for_user_or_404(Presenter, request.user, Action.VIEW_MEDIA, pk=pk)
    return _serve(request, presenter, PRESENTER_FILES, what)


@login_required
def audio_file(request, pk: int, what: str):
    track = get_for_user_or_404(AudioTrack, request.user, Action.VIEW_MEDIA, pk=pk)
    return _serve(request, track, AUDIO_FILES, what)
