"""Serving stored files from permission-checked views (media has no public URL).

The view decides who may see a file; this module only transfers it. In development the bytes are streamed with
`FileResponse` (single HTTP Range requests answered 206, so players can seek; never read whole into memory).
In production, with MEDIA_ACCEL_REDIRECT_PREFIX set, nginx does the transfer from an `internal` location
named by `X-Accel-Redirect`, Range included.
"""

from __future__ import annotations

import mimetypes
import os
import re
from urllib.parse import quote

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_CHUNK = 256 * 1024


class _RangeFile:
    """Read-only view of [start, start + length) of an open file, for FileResponse's chunked streaming."""

    def __init__(self, handle, start: int, length: int) -> None:
        self._handle = handle
        self._left = length
        handle.seek(start)

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end inclusive) of a single byte range; None to ignore the header; False if unsatisfiable."""
    if not header:
        return None
    if not header.strip().lower().startswith("bytes"):
        return None  # another unit: ignore, answer the whole file
    if "," in header:
        return None  # several ranges: RFC 9110 allows answering the whole file instead
    match = _RANGE.match(header)
    if not match or match.groups() == ("", ""):
        return False
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


def _content_type(name: str, content_type: str | None) -> str:
    return content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _accel_response(fieldfile: FieldFile, content_type: str, disposition: str | None) -> HttpResponse:
    response = HttpResponse(content_type=content_type)
    prefix = settings.MEDIA_ACCEL_REDIRECT_PREFIX.rstrip("/")
    response["X-Accel-Redirect"] = f"{prefix}/{quote(fieldfile.name)}"
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def serve_file(
    request: HttpRequest,
    fieldfile: FieldFile,
    download_name: str | None = None,
    as_attachment: bool = False,
    content_type: str | None = None,
) -> HttpResponse:
    """Answer with a stored file (the caller has checked permissions). 404 when it is not on disk."""
    if not fieldfile:
        raise Http404("No such file.")
    kind = _content_type(download_name or fieldfile.name, content_type)
    disposition = content_disposition_header(as_attachment, download_name) if download_name or as_attachment else None
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        response = _accel_response(fieldfile, kind, disposition)
    else:
        try:
            handle = open(fieldfile.path, "rb")  # noqa: SIM115 - FileResponse closes it
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise Http404("No such file.") from exc
        size = os.fstat(handle.fileno()).st_size
        wanted = parse_range(request.headers.get("Range", ""), size)
        if wanted is False:
            handle.close()
            response = HttpResponse(status=416, content_type=kind)
            response["Content-Range"] = f"bytes */{size}"
        elif wanted is None:
            response = FileResponse(handle, content_type=kind)
            response["Content-Length"] = str(size)
        else:
            start, end = wanted
            response = FileResponse(_RangeFile(handle, start, end - start + 1), status=206, content_type=kind)
            response["Content-Length"] = str(end - start + 1)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.block_size = _CHUNK
        response.headers.pop("Content-Disposition", None)  # FileResponse's default names our generated file
        if disposition:
            response["Content-Disposition"] = disposition
        response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
