"""Ingest jobs (the `ingest` RQ queue): analyse an uploaded presenter or audio track once, for every later job.

Status goes pending -> analysing -> ready | rejected. Bad content is rejected with the engine's plain reason and
its files are removed; anything else (a crash, ffmpeg missing, a timeout) is rejected as "Analysis failed, please
retry." with the traceback in the log and the original kept for a retry. Derived files are made in a private
working directory and only move into storage when the row accepts them, so nothing half-made is ever visible.
`reconcile_stuck_media` makes sure no row waits forever for a job that is gone.
"""

from __future__ import annotations

import logging
import math
import subprocess
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from media_library import storage, validation
from media_library.models import AudioTrack, MediaStatus, Presenter, PresenterKind
from synthesis.errors import EngineFailure, InputError, NoFaceFound

logger = logging.getLogger(__name__)

RETRY_MESSAGE = "Analysis failed, please retry."
PREVIEW_SECONDS = 4
PREVIEW_HEIGHT = 360
THUMBNAIL_WIDTH = 480
LONG_PRESENTER_S = 5 * 60
SMALL_FACE_RATIO = 1 / 3
TURNED_AWAY_BELOW = 0.6
LOW_COVERAGE_BELOW = 0.9
LONG_SILENCE_S = 2.0
NOISY_FLOOR_DB = -45.0
#: ingest runs per row the reconciler may start (the upload's own counts as the first)
MAX_INGEST_ATTEMPTS = 2


@dataclass
class Outcome:
    """What an analysis produced: field values and files (field -> (path in the work dir, storage kind, suffix))."""

    fields: dict = field(default_factory=dict)
    files: dict[str, tuple[Path, str, str]] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------- tasks
def ingest_presenter(presenter_id: int) -> str:
    return _run(Presenter, presenter_id, _analyse_presenter)


def ingest_audio(track_id: int) -> str:
    return _run(AudioTrack, track_id, _analyse_audio)


def synthesize_audio(track_id: int) -> str:
    """Text to speech, then the same analysis as an uploaded track."""
    return _run(AudioTrack, track_id, _synthesize_and_analyse)


def _current_job_id() -> str | None:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def _claim(model, pk: int) -> bool:
    """pending/analysing -> analysing, only for the job the row is waiting for (a superseded job stops)."""
    rows = model.objects.filter(pk=pk, status__in=[MediaStatus.PENDING, MediaStatus.ANALYSING])
    job_id = _current_job_id()
    if job_id is not None:
        rows = rows.filter(ingest_job_id=job_id)
    return bool(rows.update(status=MediaStatus.ANALYSING, updated_at=timezone.now()))


def _run(model, pk: int, analyse: Callable[[object, Path], Outcome]) -> str:
    if not _claim(model, pk):
        logger.info("ingest of %s %s skipped: gone, finished or superseded", model.__name__, pk)
        return "skipped"
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        return "skipped"
    work_root = Path(settings.MEDIA_ROOT) / ".work"
    work_root.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="ingest-", dir=work_root) as work:
            outcome = analyse(obj, Path(work))
            return _accept(model, pk, outcome)
    except InputError as exc:
        logger.info("%s %s rejected: %s", model.__name__, pk, exc)
        _reject(model, pk, _plain(exc, obj), keep_original=False)
        return "rejected"
    except Exception:
        logger.exception("ingest of %s %s failed", model.__name__, pk)
        _reject(model, pk, RETRY_MESSAGE, keep_original=True)
        return "failed"


def _plain(exc: Exception, obj) -> str:
    """The engine names our generated file; the uploader knows their own filename."""
    message = str(exc)
    if obj.file:
        message = message.replace(Path(obj.file.name).name, obj.original_filename or obj.title)
    return message


def _accept(model, pk: int, outcome: Outcome) -> str:
    """Move the derived files into storage and mark the row ready, unless it changed meanwhile."""
    added: list[str] = []
    try:
        with transaction.atomic():
            row = model.objects.select_for_update().filter(pk=pk).first()
            if row is None or row.status != MediaStatus.ANALYSING:
                return "discarded"
            old = [getattr(row, name).name for name in outcome.files if getattr(row, name)]
            for name, (path, kind, suffix) in outcome.files.items():
                added.append(storage.save_derived(path, row.department_id, kind, suffix))
                setattr(row, name, added[-1])
            for key, value in outcome.fields.items():
                setattr(row, key, value)
            row.status, row.rejection_reason = MediaStatus.READY, ""
            row.size_bytes = storage.stored_size(row)
            row.save()
            storage.delete_files_on_commit(old)
    except BaseException:
        storage.delete_files(added)
        raise
    return "ready"


def _reject(model, pk: int, reason: str, keep_original: bool) -> None:
    """Rejected with a reason; derived files always go, the original too unless a retry may need it."""
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return
        doomed = [f.name for f in row.stored_files() if not (keep_original and f.name == row.file.name)]
        for fieldfile in row.stored_files():
            if fieldfile.name in doomed:
                setattr(row, fieldfile.field.name, "")
        row.status, row.rejection_reason = MediaStatus.REJECTED, reason
        row.analysis = {**row.analysis, "retryable": keep_original}
        row.size_bytes = storage.stored_size(row)
        row.save()
        storage.delete_files_on_commit(doomed)


# ------------------------------------------------------------------------------------------------- presenters
def _ffmpeg(*args: str, timeout: float = 300) -> None:
    try:
        proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise EngineFailure(f"ffmpeg took longer than {timeout:g} s") from exc
    if proc.returncode != 0:
        raise EngineFailure("ffmpeg failed: " + proc.stderr.decode("utf-8", "replace")[-500:])


def _thumbnail(source: Path, out: Path, seek: float) -> Path:
    scale = f"scale='min({THUMBNAIL_WIDTH},iw)':-2"
    _ffmpeg(
        *(["-ss", f"{seek:.2f}"] if seek else []),
        "-i",
        str(source),
        "-frames:v",
        "1",
        "-vf",
        scale,
        "-q:v",
        "4",
        str(out),
    )
    return out


def _preview(source: Path, out: Path, has_audio: bool) -> Path:
    scale = f"scale=-2:'2*trunc(min({PREVIEW_HEIGHT},ih)/2)'"
    audio = ["-c:a", "aac", "-b:a", "64k", "-ac", "1"] if has_audio else ["-an"]
    _ffmpeg(
        "-t",
        str(PREVIEW_SECONDS),
        "-i",
        str(source),
        "-vf",
        scale,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "30",
        "-pix_fmt",
        "yuv420p",
        *audio,
        "-movflags",
        "+faststart",
        str(out),
    )
    return out


def presenter_warnings(duration: float | None, coverage: float, face_ratio: float, frontal: float) -> list[str]:
    """What the uploader should know before using this presenter (plain words)."""
    warnings = []
    if coverage < LOW_COVERAGE_BELOW:
        warnings.append(
            _("A face was found in only %(pct)d%% of the frames; the other frames are left unchanged.")
            % {"pct": round(coverage * 100)}
        )
    if face_ratio < SMALL_FACE_RATIO:
        warnings.append(
            _("The face is small (%(pct)d%% of the picture height, under a third); lip-sync will look less sharp.")
            % {"pct": round(face_ratio * 100)}
        )
    if frontal < TURNED_AWAY_BELOW:
        warnings.append(_("The face is turned away from the camera; lip-sync works best facing the camera."))
    if duration and duration > LONG_PRESENTER_S:
        warnings.append(
            _("The video lasts %(min).1f minutes (over 5); every job using it will take longer.")
            % {"min": duration / 60}
        )
    return warnings


def _analyse_presenter(presenter: Presenter, work: Path) -> Outcome:
    from synthesis.facetrack import analyse_image, analyse_video
    from synthesis.probe import probe_media, require_video

    source = storage.absolute(presenter.file.name)
    info = require_video(probe_media(source, validation.limits(), timeout=settings.MEDIA_PROBE_TIMEOUT_S))
    still = info.is_still_image
    track = analyse_image(source) if still else analyse_video(source)
    if not track.detected.any():
        raise NoFaceFound(
            _("No face was found in %(name)s. Use a video or photo where one person faces the camera.")
            % {"name": presenter.original_filename or presenter.title}
        )
    outcome = Outcome()
    outcome.files["thumbnail"] = (
        _thumbnail(source, work / "thumb.jpg", 0 if still else min(1.0, info.duration / 2)),
        "thumbnails",
        ".jpg",
    )
    if not still:
        outcome.files["preview"] = (_preview(source, work / "preview.mp4", info.has_audio), "previews", ".mp4")
    outcome.files["face_track"] = (track.save(work / "face.npz"), "facetracks", ".npz")
    coverage = track.coverage
    face_ratio = track.median_face_height_ratio()
    frontal = track.median_frontalness()
    duration = None if still else info.duration
    outcome.fields = dict(
        kind=PresenterKind.PHOTO if still else PresenterKind.VIDEO,
        width=info.width,
        height=info.height,
        fps=None if still else info.fps,
        video_codec=info.video_codec or "",
        rotation=info.rotation,
        has_audio=info.has_audio,
        duration=duration,
        face_coverage=coverage,
        face_size_ratio=face_ratio,
        frontalness=frontal,
        warnings=presenter_warnings(duration, coverage, face_ratio, frontal),
        analysis={
            "container": info.container,
            "n_frames": info.n_frames,
            "audio_codec": info.audio_codec,
            "face_present_share": track.present_share,
            "face_track_hash": track.video_hash,
        },
    )
    return outcome


# ------------------------------------------------------------------------------------------------- audio
def _write_wav_16k(samples: np.ndarray, out: Path) -> Path:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(pcm.tobytes())
    return out


def waveform_png(samples: np.ndarray, out: Path, width: int = 960, height: int = 140) -> Path:
    """Min/max envelope per pixel column, drawn in the portal's accent colour."""
    import cv2

    image = np.full((height, width, 3), 255, np.uint8)
    mid = height // 2
    if samples.size:
        edges = np.linspace(0, samples.size, width + 1).astype(np.int64)
        for x in range(width):
            chunk = samples[edges[x] : max(edges[x + 1], edges[x] + 1)]
            top = int(mid - float(chunk.max()) * (mid - 2))
            bottom = int(mid - float(chunk.min()) * (mid - 2))
            cv2.line(image, (x, top), (x, max(bottom, top)), (235, 99, 37), 1)
    cv2.line(image, (0, mid), (width - 1, mid), (225, 225, 225), 1)
    if not cv2.imwrite(str(out), image):
        raise EngineFailure("could not write the waveform image")
    return out


def _silences(vad_probs: np.ndarray, chunk_s: float) -> list[tuple[float, float]]:
    """(start, length) in seconds of every non-speech run at least LONG_SILENCE_S long."""
    quiet = np.concatenate([[False], vad_probs < 0.5, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = [(int(a) * chunk_s, (int(b) - int(a)) * chunk_s) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(start, length) for start, length in runs if length >= LONG_SILENCE_S]


def audio_warnings(analysis, silences: list[tuple[float, float]]) -> list[str]:
    warnings = []
    if not math.isfinite(analysis.loudness_lufs):
        warnings.append(_("The audio is silent: the presenter's lips will stay closed."))
    elif analysis.speech_share < 0.05:
        warnings.append(_("Almost no speech was detected in this audio."))
    if analysis.clipped_fraction > 0.001:
        warnings.append(_("The audio is clipped (distorted in loud parts); lip-sync may be less precise."))
    if analysis.source_sample_rate and analysis.source_sample_rate < 16000:
        warnings.append(
            _("The audio is sampled at %(rate)d Hz, below 16 kHz; lip-sync may be less precise.")
            % {"rate": analysis.source_sample_rate}
        )
    if silences:
        start, length = max(silences, key=lambda s: s[1])
        warnings.append(
            _("There is a silence of %(len).1f s at %(min)d:%(sec)02d; the presenter will keep still with closed lips.")
            % {"len": length, "min": int(start // 60), "sec": int(start % 60)}
        )
    if math.isfinite(analysis.loudness_lufs) and analysis.noise_floor_db > NOISY_FLOOR_DB:
        warnings.append(
            _("There is noticeable background noise (noise floor %(db).0f dBFS).") % {"db": analysis.noise_floor_db}
        )
    return warnings


def _analyse_audio_file(source: Path, work: Path) -> Outcome:
    from synthesis.audio import SAMPLE_RATE, analyse_audio
    from synthesis.probe import probe_media, require_audio

    info = require_audio(probe_media(source, validation.limits(), timeout=settings.MEDIA_PROBE_TIMEOUT_S))
    analysis = analyse_audio(source, cache_dir=settings.SYNTHESIS_CACHE_DIR)
    chunk_s = analysis.samples.size / SAMPLE_RATE / max(analysis.vad_probs.size, 1)
    silences = _silences(analysis.vad_probs, chunk_s) if analysis.vad_probs.size else []
    outcome = Outcome()
    outcome.files["analysis_copy"] = (_write_wav_16k(analysis.samples, work / "analysis.wav"), "analysis", ".wav")
    outcome.files["waveform"] = (waveform_png(analysis.samples, work / "waveform.png"), "waveforms", ".png")
    outcome.fields = dict(
        duration=info.duration,
        sample_rate=info.audio_sample_rate,
        channels=info.audio_channels,
        audio_codec=info.audio_codec or "",
        loudness_lufs=analysis.loudness_lufs if math.isfinite(analysis.loudness_lufs) else None,
        speech_share=analysis.speech_share,
        warnings=audio_warnings(analysis, silences),
        analysis={
            "container": info.container,
            "clipped_fraction": analysis.clipped_fraction,
            "noise_floor_db": analysis.noise_floor_db,
            "gain_db": analysis.gain_db,
            "silences": [[round(s, 2), round(n, 2)] for s, n in silences],
            "audio_hash": analysis.audio_hash,
        },
    )
    return outcome


def _analyse_audio(track: AudioTrack, work: Path) -> Outcome:
    return _analyse_audio_file(storage.absolute(track.file.name), work)


def _synthesize_and_analyse(track: AudioTrack, work: Path) -> Outcome:
    from synthesis.hashing import file_sha256
    from synthesis.tts import get_tts

    if track.file:  # already spoken by an earlier attempt: only the analysis is missing
        return _analyse_audio(track, work)
    options = {"variant": track.tts_voice or None}
    if track.tts_rate:
        options["rate_wpm"] = track.tts_rate
    speech = get_tts(settings.TTS_ENGINE, **options).synthesize(
        track.tts_text, work / "speech.wav", language=track.language or "en"
    )
    outcome = _analyse_audio_file(speech, work)
    outcome.fields["content_hash"] = file_sha256(speech)
    outcome.fields["original_filename"] = ""
    outcome.files["file"] = (speech, "audio", ".wav")
    return outcome


# ------------------------------------------------------------------------------------------------- reconciler
def reconcile_stuck_media(max_age_s: float | None = None, grace_s: float = 60.0) -> dict[str, int]:
    """Rows waiting in pending/analysing for a job that vanished (or for longer than max_age_s) are
    re-enqueued once more, then rejected. Called by the periodic reconciler; safe to run concurrently."""
    from redis.exceptions import RedisError

    from media_library import services
    from portal.queues import INGEST, QueueUnavailable, job_is_alive

    max_age_s = max_age_s if max_age_s is not None else settings.INGEST_JOB_TIMEOUT_S + 300
    now = timezone.now()
    counts = {"requeued": 0, "rejected": 0}
    for model in (Presenter, AudioTrack):
        waiting = model.objects.filter(
            status__in=[MediaStatus.PENDING, MediaStatus.ANALYSING], updated_at__lt=now - timedelta(seconds=grace_s)
        )
        for row in waiting:
            too_old = row.updated_at < now - timedelta(seconds=max_age_s)
            try:
                if not too_old and job_is_alive(row.ingest_job_id, INGEST):
                    continue
            except RedisError:
                logger.warning("reconcile_stuck_media: Redis unreachable, nothing judged")
                return counts
            counts[_recover(row, services, QueueUnavailable)] += 1
    return counts


def _recover(row, services, queue_unavailable) -> str:
    with transaction.atomic():
        row = type(row).objects.select_for_update().get(pk=row.pk)
        if row.ingest_attempts < MAX_INGEST_ATTEMPTS:
            try:
                row.status = MediaStatus.PENDING
                row.save(update_fields=["status", "updated_at"])
                services.enqueue_ingest(row)
                logger.warning("re-enqueued the ingest of %s %s", type(row).__name__, row.pk)
                return "requeued"
            except queue_unavailable:
                pass
    logger.error("ingest of %s %s never finished; rejecting it", type(row).__name__, row.pk)
    _reject(type(row), row.pk, RETRY_MESSAGE, keep_original=True)
    return "rejected"
