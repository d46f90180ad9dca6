"""The GPU queue's task: render one job item. Runs in a worker process, never in the web process.

Outcomes, all recorded on the row through jobs.state:
- success -> succeeded, output + quality report stored;
- the user's input is unusable (InputError) -> failed once with its reason, no retry;
- canceled -> stays canceled, no partial file (the engine removes its temp file);
- anything else (engine crash, disk full) -> back to queued and re-raised so RQ's Retry runs it again,
  or failed with a plain reason once the attempts are used up.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext as _
from rq import get_current_job

from jobs import engine
from jobs.dispatch import release_items
from jobs.models import ItemStatus, JobItem
from jobs.outputs import download_name, output_path, output_storage_name, remove_stale_partials
from jobs.progress import Heartbeat, ProgressWriter
from jobs.state import transition

logger = logging.getLogger(__name__)


def run_item(item_id: int) -> str:
    """Render one item; returns its final status (for RQ's result)."""
    item = JobItem.objects.filter(pk=item_id).first()
    if item is None:
        return "missing"
    rq_job = get_current_job()
    worker = getattr(rq_job, "worker_name", "") or ""
    if not transition(item_id, ItemStatus.RUNNING, worker_name=worker, progress=0, stage="starting", error=""):
        return "skipped"  # canceled (or already taken) before it started
    JobItem.objects.filter(pk=item_id).update(attempts=F("attempts") + 1)
    try:
        with Heartbeat(item_id, settings.JOB_HEARTBEAT_INTERVAL_S):
            status = _render(JobItem.objects.select_related("batch__audio", "presenter").get(pk=item_id))
    finally:
        engine.release_memory()
        release_items([item.department_id])
    return status


def _render(item: JobItem) -> str:
    from synthesis.errors import Canceled, InputError
    from synthesis.pipeline import SynthesisOptions, generate

    progress = ProgressWriter(item.pk)
    remove_stale_partials(item)  # left by a previous attempt whose worker was killed
    target = output_path(item)
    try:
        t0 = time.perf_counter()
        analysis, computed = engine.audio_analysis_for(item)
        t1 = time.perf_counter()
        backend = engine.backend_for(item.batch.backend)  # built once per worker process
        t2 = time.perf_counter()
        options = SynthesisOptions(
            backend=item.batch.backend,
            device=engine.synthesis_device(),
            max_seconds=item.batch.preview_seconds,
            **_engine_options(item.batch.options),
        )
        result = generate(
            analysis,
            item.presenter.file.path,
            target,
            options,
            backend=backend,
            track=engine.face_track_for(item),
            progress=progress,
            cancel=progress.canceled,
        )
    except Canceled:
        target.unlink(missing_ok=True)
        return _stopped(item)
    except InputError as exc:
        target.unlink(missing_ok=True)
        transition(item.pk, ItemStatus.FAILED, error=str(exc), error_code=exc.code, traceback=traceback.format_exc())
        return ItemStatus.FAILED
    except Exception as exc:
        target.unlink(missing_ok=True)
        return _infrastructure_failure(item, exc)

    timings = {k: round(v, 3) for k, v in result.timings.items()}
    timings["audio_analysis"] = "computed" if computed else "reused"
    timings["audio_analysis_s"] = round(t1 - t0, 3)
    timings["backend_load_s"] = round(t2 - t1, 3)
    quality = result.quality or {}
    won = transition(
        item.pk,
        ItemStatus.SUCCEEDED,
        output=output_storage_name(item),
        output_name=download_name(item),
        output_duration=result.duration,
        sync_score=(quality.get("sync") or {}).get("r"),
        quality={**quality, "warnings": result.warnings, "face_coverage": result.face_coverage},
        timings=timings,
        progress=100.0,
        stage="done",
        eta_seconds=0,
    )
    if not won:  # canceled while the last frames were encoded: the user asked for no output
        target.unlink(missing_ok=True)
        if result.report_path:
            Path(result.report_path).unlink(missing_ok=True)
        return _stopped(item)
    return ItemStatus.SUCCEEDED


def _stopped(item: JobItem) -> str:
    """Tell the row the worker has let go of a canceled item (and removed its files)."""
    JobItem.objects.filter(pk=item.pk, status=ItemStatus.CANCELED).update(stage="stopped", eta_seconds=None)
    return ItemStatus.CANCELED


_ENGINE_OPTION_NAMES = ("crf", "preset", "length_mode", "encoder")


def _engine_options(options: dict) -> dict:
    """Only the batch options the engine understands (the API validates them on the way in)."""
    return {k: options[k] for k in _ENGINE_OPTION_NAMES if k in options}


def _infrastructure_failure(item: JobItem, exc: Exception) -> str:
    """Retry through RQ while attempts remain; then fail with a plain reason."""
    item.refresh_from_db(fields=["attempts"])
    logger.exception("item %s failed on attempt %s", item.pk, item.attempts)
    details = traceback.format_exc()
    if item.attempts < settings.JOB_MAX_ATTEMPTS:
        transition(item.pk, ItemStatus.QUEUED, expect=(ItemStatus.RUNNING,), traceback=details, stage="retrying")
        raise exc  # RQ's Retry re-enqueues the same job
    message = _("The engine failed %(n)s times on this item (%(error)s). Please retry later or contact support.") % {
        "n": item.attempts,
        "error": type(exc).__name__,
    }
    transition(item.pk, ItemStatus.FAILED, error=message, error_code="engine_failure", traceback=details)
    return ItemStatus.FAILED
