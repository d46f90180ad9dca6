"""A batch ZIP streamed to the client as it is built: no full copy in memory or on disk.

zipfile writes to any object with write(); on an unseekable sink it uses data descriptors, so the
archive can be produced front to back. Videos are already compressed: they are STORED.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 1024 * 1024


class _Sink(io.RawIOBase):
    """Collects what zipfile writes; the generator drains it after each step."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def manifest_csv(rows: Iterable[dict]) -> bytes:
    """The manifest of a batch ZIP: one row per item, including failed ones and why."""
    out = io.StringIO()
    fields = ["file", "presenter", "status", "duration_s", "sync_score", "error"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    return out.getvalue().encode("utf-8-sig")  # BOM: Excel opens UTF-8 names correctly


def stream_zip(files: Iterable[tuple[str, Path]], extra: Iterable[tuple[str, bytes]] = ()) -> Iterator[bytes]:
    """Yield a ZIP of (name in archive, path on disk) files plus small in-memory entries."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in extra:
            archive.writestr(name, data)
            yield sink.drain()
        for name, path in files:
            info = zipfile.ZipInfo.from_file(path, arcname=name)
            with open(path, "rb") as source, archive.open(info, mode="w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()


def unique_names(names: Iterable[str]) -> list[str]:
    """'a.mp4', 'a.mp4' -> 'a.mp4', 'a (2).mp4' (two presenters may share a title)."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        count = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = count
        result.append(name if count == 1 else f"{stem} ({count}).{ext}" if ext else f"{stem} ({count})")
    return result
