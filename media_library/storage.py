"""Where media bytes live: generated names under MEDIA_ROOT/departments/<id>/<kind>/, never the uploaded name.

Uploads are streamed chunk by chunk into a hidden `.part` file beside their final place and renamed only once
they have been judged, so a half-written or rejected upload is never visible under a real name and is
removed on every failure path. Files leave disk together with their row (see `delete_files_on_commit`).
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from media_library.models import department_path

logger = logging.getLogger(__name__)

#: ffprobe container name -> file suffix for the stored original (display and nginx types only)
_SUFFIXES = {
    "mov,mp4,m4a,3gp,3g2,mj2": ".mp4",
    "matroska,webm": ".mkv",
    "avi": ".avi",
    "mpegts": ".ts",
    "flv": ".flv",
    "wav": ".wav",
    "mp3": ".mp3",
    "ogg": ".ogg",
    "flac": ".flac",
    "aac": ".aac",
    "jpeg_pipe": ".jpg",
    "png_pipe": ".png",
    "webp_pipe": ".webp",
    "bmp_pipe": ".bmp",
    "tiff_pipe": ".tif",
    "image2": ".jpg",
}


def suffix_for(container: str, has_video: bool = True) -> str:
    """Suffix of a stored original from what ffprobe found (never from the uploaded name)."""
    suffix = _SUFFIXES.get(container, ".media")
    if suffix == ".mp4" and not has_video:
        return ".m4a"
    return suffix


def absolute(name: str) -> Path:
    return Path(default_storage.path(name))


class StagedUpload:
    """An upload written under a hidden temporary name; `commit()` renames it, `discard()` removes it."""

    def __init__(self, department_id: int, kind: str) -> None:
        self.department_id = department_id
        self.kind = kind
        folder = absolute(str(Path(department_path(department_id, kind, "")).parent))
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f".upload-{uuid.uuid4().hex}.part"
        self.name: str | None = None  # storage name once committed

    def write(self, uploaded: UploadedFile) -> int:
        """Stream the upload to disk chunk by chunk; returns the byte count."""
        size = 0
        with open(self.path, "xb") as handle:
            for chunk in uploaded.chunks():
                handle.write(chunk)
                size += len(chunk)
        os.chmod(self.path, 0o640)
        return size

    def commit(self, suffix: str) -> str:
        """Move to the generated final name; returns the storage name for the FileField."""
        self.name = department_path(self.department_id, self.kind, suffix)
        os.replace(self.path, absolute(self.name))
        return self.name

    def discard(self) -> None:
        """Remove whatever this upload left on disk (temporary or committed)."""
        self.path.unlink(missing_ok=True)
        if self.name:
            delete_files([self.name])


def stage_upload(uploaded: UploadedFile, department_id: int, kind: str) -> StagedUpload:
    staged = StagedUpload(department_id, kind)
    try:
        staged.write(uploaded)
    except BaseException:
        staged.discard()
        raise
    return staged


def save_derived(source: Path, department_id: int, kind: str, suffix: str) -> str:
    """Move a file made by a worker (in its private temp dir) into storage under a generated name."""
    name = department_path(department_id, kind, suffix)
    target = absolute(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    shutil.move(source, partial)
    os.replace(partial, target)
    return name


def delete_files(names: Iterable[str]) -> None:
    """Remove stored files now; a missing file is not an error."""
    for name in names:
        if not name:
            continue
        try:
            absolute(name).unlink(missing_ok=True)
        except OSError:
            logger.exception("could not remove media file %s", name)


def delete_files_on_commit(names: Iterable[str]) -> None:
    """Remove files once the surrounding transaction commits (a rollback keeps them with their row)."""
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: delete_files(names))


def remove_row_files(sender, instance, **kwargs) -> None:
    """post_delete receiver: a deleted presenter or audio track takes its files with it."""
    delete_files_on_commit(f.name for f in instance.stored_files())


def stored_size(instance) -> int:
    """Bytes on disk of every file a row owns (what the department quota counts)."""
    total = 0
    for fieldfile in instance.stored_files():
        try:
            total += absolute(fieldfile.name).stat().st_size
        except OSError:
            continue
    return total
