"""What the pages show about batches: overall progress, counts, stages and ETAs in plain words.

Used by the dashboard, the job history and the live job page (status.json), so each rule lives here once.
"""

from __future__ import annotations

from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from jobs.downloads import is_downloadable
from jobs.models import BatchStatus, ItemStatus

FINISHED = (BatchStatus.SUCCEEDED, BatchStatus.PARTIALLY_FAILED, BatchStatus.FAILED, BatchStatus.CANCELED)
ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)

#: the engine's and the worker's stage names, in the user's words
STAGE_LABELS = {
    "": "",
    "starting": gettext_lazy("Starting"),
    "audio": gettext_lazy("Analysing the audio"),
    "face": gettext_lazy("Finding the face"),
    "render": gettext_lazy("Animating the lips"),
    "encode": gettext_lazy("Encoding the video"),
    "quality": gettext_lazy("Checking the quality"),
    "done": gettext_lazy("Done"),
    "canceled": gettext_lazy("Canceled"),
    "recovering": gettext_lazy("Recovering after a worker stopped"),
    "retrying": gettext_lazy("Trying again"),
}


#: a sentence per engine/worker error code, so a reader of any language gets the gist; the worker's own
#: English detail (file names, limits) follows in brackets
ERROR_HEADLINES = {
    "invalid_input": gettext_lazy("This input cannot be used."),
    "no_video_stream": gettext_lazy("The presenter file has no picture."),
    "no_audio_stream": gettext_lazy("The audio file has no sound."),
    "undecodable": gettext_lazy("A file could not be read; it may be damaged."),
    "zero_duration": gettext_lazy("A file is empty (zero length)."),
    "over_limit": gettext_lazy("A file is longer or larger than allowed."),
    "no_face": gettext_lazy("No face was found in the presenter."),
    "weights_missing": gettext_lazy("The lip-sync model file is missing on the server; tell your administrator."),
    "engine_failure": gettext_lazy("The video engine failed; retry later or tell your administrator."),
    "lost": gettext_lazy("The item was interrupted several times; check the workers, then retry."),
}


def error_label(error: str, code: str) -> str:
    """The item's error for this page's language: as written in English, headline + detail otherwise."""
    if not error:
        return ""
    headline = ERROR_HEADLINES.get(code)
    if headline is None or (get_language() or "en").startswith("en"):
        return error
    return f"{headline} ({error})"


def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage))


def eta_label(seconds: float | None) -> str:
    """'about 2 min left' / 'about 40 s left' / '' when unknown."""
    if seconds is None or seconds < 0:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return ngettext("about %(n)d second left", "about %(n)d seconds left", seconds) % {"n": seconds}
    minutes = (seconds + 59) // 60
    return ngettext("about %(n)d minute left", "about %(n)d minutes left", minutes) % {"n": minutes}


def with_progress(batches):
    """Annotate batches with item counts and the mean item progress (one query for a whole page)."""
    return batches.annotate(
        n_items=Count("items", distinct=True),
        n_succeeded=Count("items", filter=Q(items__status=ItemStatus.SUCCEEDED), distinct=True),
        n_failed=Count("items", filter=Q(items__status=ItemStatus.FAILED), distinct=True),
        mean_progress=Avg("items__progress"),
    )


def counts_label(total: int, done: int, failed: int) -> str:
    """'3 of 5 videos done, 1 failed'."""
    text = ngettext("%(done)d of %(total)d video done", "%(done)d of %(total)d videos done", total) % {
        "done": done,
        "total": total,
    }
    if failed:
        text = _("%(done)s, %(failed)s") % {
            "done": text,
            "failed": ngettext("%(n)d failed", "%(n)d failed", failed) % {"n": failed},
        }
    return text


def batch_state(items) -> dict:
    """Batch-level facts for the job page and its live updates."""
    total = len(items) or 1
    running_etas = [i.eta_seconds for i in items if i.status == ItemStatus.RUNNING and i.eta_seconds is not None]
    unfinished = any(i.status in (ItemStatus.WAITING, ItemStatus.QUEUED, ItemStatus.RUNNING) for i in items)
    return {
        "progress": round(sum(100.0 if i.status == ItemStatus.SUCCEEDED else i.progress for i in items) / total, 1),
        "counts_label": counts_label(
            len(items),
            sum(1 for i in items if i.status == ItemStatus.SUCCEEDED),
            sum(1 for i in items if i.status == ItemStatus.FAILED),
        ),
        "eta_label": eta_label(max(running_etas)) if running_etas and unfinished else "",
        "active": unfinished,
        "has_failed": any(i.status in (ItemStatus.FAILED, ItemStatus.CANCELED) for i in items),
        "has_outputs": any(is_downloadable(i) for i in items),
    }


def item_extras(item, can_download: bool) -> dict:
    """Per-item texts and links of the job page (also sent by status.json, so live rows match loaded ones)."""
    ready = can_download and is_downloadable(item)
    return {
        "stage_label": stage_label(item.stage) if item.status == ItemStatus.RUNNING else "",
        "eta_label": eta_label(item.eta_seconds) if item.status == ItemStatus.RUNNING else "",
        "error_label": error_label(item.error, item.error_code),
        "sync_label": (_("lip-sync score %(s).2f") % {"s": item.sync_score}) if item.sync_score is not None else "",
        "preview_url": reverse("item_preview", args=[item.pk]) if ready else "",
        "download_url": reverse("item_download", args=[item.pk]) if ready else "",
    }
