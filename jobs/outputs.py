"""Where outputs live and what they are called when downloaded."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath

from django.conf import settings

from jobs.models import JobItem

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def human_filename(*parts: str, suffix: str = ".mp4") -> str:
    """'Anna Lee - Travel policy.mp4': readable, unicode kept, path and shell specials removed."""
    text = " - ".join(p.strip() for p in parts if p and p.strip())
    text = unicodedata.normalize("NFC", _UNSAFE.sub(" ", text))
    text = re.sub(r"\s+", " ", text).strip(" .")[:150] or "output"
    return text + suffix


def output_storage_name(item: JobItem) -> str:
    """Per-department folder, unique per item and attempt, never derived from user input."""
    return str(
        PurePosixPath(
            "departments", str(item.department_id), "outputs", f"batch-{item.batch_id}", f"item-{item.pk}.mp4"
        )
    )


def output_path(item: JobItem) -> Path:
    path = Path(settings.MEDIA_ROOT) / output_storage_name(item)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def download_name(item: JobItem) -> str:
    suffix = " (sample).mp4" if item.batch.is_preview else ".mp4"
    return human_filename(item.presenter.title, item.batch.audio.title, suffix=suffix)


def remove_stale_partials(item: JobItem) -> int:
    """Delete temp files a killed worker left beside this item's output (the engine names them
    `.<stem>.<uuid>.partial.mp4`); a live render always uses a fresh name, so this is safe on re-run."""
    target = Path(settings.MEDIA_ROOT) / output_storage_name(item)
    removed = 0
    if target.parent.is_dir():
        for leftover in target.parent.glob(f".{target.stem}.*.partial.mp4"):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed
