"""The bridge between job rows and the synthesis engine, inside a worker process.

The backend (and its model) is built once per worker process and reused for every item; the audio
analysis is cached by content hash so a batch computes it once, and presenters' face tracks come
from the media library (no detection at job time).
"""

from __future__ import annotations

import fcntl
import gc
import os
import threading
from functools import cache
from pathlib import Path

from django.conf import settings

from jobs.models import JobItem

_BACKEND_LOCK = threading.Lock()


def synthesis_device() -> str:
    """`SYNTHESIS_DEVICE`, else CUDA when this process sees a GPU (CUDA_VISIBLE_DEVICES picks it), else CPU."""
    if settings.SYNTHESIS_DEVICE:
        return settings.SYNTHESIS_DEVICE
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


@cache
def backend_for(name: str):
    """One backend instance per (process, backend name): the model loads once."""
    from synthesis.backends import get_backend

    with _BACKEND_LOCK:
        return get_backend(name, device=synthesis_device(), checkpoint=settings.WAV2LIP_CHECKPOINT or None)


def audio_cache_dir() -> Path:
    path = Path(settings.SYNTHESIS_CACHE_DIR) / "audio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def audio_analysis_for(item: JobItem):
    """The batch's audio analysis and whether this call computed it (False = reused from the cache).

    Workers starting a batch's items at the same moment would each analyse the audio; an exclusive
    lock per audio (a file lock, so it holds across processes on one media volume) lets the first
    compute it and the others read its cache.
    """
    from synthesis.audio import analyse_audio

    audio = item.batch.audio
    cache = audio_cache_dir()
    with open(cache / f"audio-{audio.content_hash or audio.pk}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cached_before = bool(audio.content_hash) and any(cache.glob(f"audio-{audio.content_hash}.*.npz"))
            return analyse_audio(audio.file.path, cache_dir=cache), not cached_before
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def face_track_for(item: JobItem):
    """The presenter's face track computed at ingest (None only for presenters ingested without one)."""
    from synthesis.facetrack import FaceTrack

    presenter = item.presenter
    if not presenter.face_track:
        return None
    return FaceTrack.load(presenter.face_track.path)


def release_memory() -> None:
    """After each item: drop per-item arrays; give cached CUDA blocks back to the driver."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
