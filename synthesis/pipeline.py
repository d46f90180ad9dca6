"""generate(): one driving audio + one presenter video -> one lip-synced MP4.

Decode, render and encode run concurrently over bounded queues, so memory stays flat however long
the video is; the output appears atomically (or not at all, on error or cancel), and a quality
report is written beside it.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthesis.audio import AudioAnalysis, analyse_audio
from synthesis.backends.base import FrameBatch, MouthBackend
from synthesis.errors import Canceled, EngineFailure, InputError
from synthesis.hashing import file_sha256
from synthesis.probe import MediaLimits, probe_media, require_video
from synthesis.timeline import source_indices
from synthesis.video_io import FrameReader, FrameWriter, SourceFrames

#: frames in flight per batch are capped at this many bytes (a 4K batch of 16 would be 400 MB)
BATCH_BYTES = 96 * 1024 * 1024
QUEUE_BATCHES = 2
#: share of the whole job each stage stands for in Progress.fraction
_WEIGHTS = {"audio": 0.05, "face": 0.25, "render": 0.62, "encode": 0.03, "quality": 0.05}
_AUDIO_WARNINGS = {
    "audio_silent": "The audio is silent: the lips stay closed.",
    "audio_low_sample_rate": "The audio is sampled below 16 kHz; lip-sync may be less precise.",
    "audio_clipped": "The audio is clipped (distorted); lip-sync may be less precise.",
}


@dataclass
class SynthesisOptions:
    """How to render; every field has a production-sane default."""

    backend: str = "warp"
    device: str = "cpu"
    checkpoint: str | None = None
    crf: int = 20
    preset: str = "veryfast"
    encoder: str = "libx264"
    length_mode: str = "pingpong"
    max_seconds: float | None = None  # preview: render only the first N seconds of the audio
    batch_size: int | None = None  # None: the backend's preference
    cache_dir: str | None = None  # audio analysis cache (.npz by content hash)
    limits: MediaLimits = field(default_factory=MediaLimits)
    quality_report: bool = True
    spool_dir: str | None = None  # where frames shown twice are spooled (default: system temp)


@dataclass
class Progress:
    """One progress event; fraction is the estimated share of the whole job done (0..1)."""

    stage: str
    frames_done: int
    frames_total: int
    fraction: float


@dataclass
class SynthesisResult:
    output_path: str
    frames: int
    duration: float
    fps: float
    width: int
    height: int
    face_coverage: float
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    quality: dict | None = None
    report_path: str | None = None


CancelLike = Callable[[], bool] | threading.Event | None
ProgressFn = Callable[[Progress], None] | None


def _canceled(cancel: CancelLike) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class _Reporter:
    """Turns stage-local counts into Progress events with an overall fraction."""

    def __init__(self, callback: ProgressFn, detect_faces: bool, quality: bool) -> None:
        self.callback = callback
        self.weights = dict(_WEIGHTS)
        self.weights["face"] *= detect_faces
        self.weights["quality"] *= quality
        total = sum(self.weights.values())
        self.weights = {k: v / total for k, v in self.weights.items()}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.callback is None:
            return
        before = 0.0
        for name, weight in self.weights.items():
            if name == stage:
                break
            before += weight
        share = min(1.0, done / total) if total > 0 else 0.0
        self.callback(Progress(stage, done, total, min(1.0, before + self.weights[stage] * share)))


def _batch_size(requested: int, width: int, height: int) -> int:
    return max(1, min(requested, BATCH_BYTES // max(1, width * height * 3)))


class _Stream:
    """decode thread -> queue -> render (caller's thread) -> queue -> encode thread."""

    _END = object()

    def __init__(self, source: SourceFrames, writer: FrameWriter, src_index: np.ndarray, batch: int) -> None:
        self.source, self.writer, self.src_index, self.batch = source, writer, src_index, batch
        self.q_in: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.q_out: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.busy = {"decode": 0.0, "encode": 0.0}
        self.threads = [
            threading.Thread(target=self._guard, args=(self._decode, "decode"), daemon=True),
            threading.Thread(target=self._guard, args=(self._encode, "encode"), daemon=True),
        ]

    def _put(self, q: queue.Queue, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> Any:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return self._END

    def _guard(self, fn: Callable[[], None], name: str) -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller's thread
            self.errors.append(exc)
            self.stop.set()

    def _decode(self) -> None:
        n = len(self.src_index)
        for start in range(0, n, self.batch):
            t0 = time.perf_counter()
            idx = self.src_index[start : start + self.batch]
            frames = [self.source.get(int(i)) for i in idx]
            self.busy["decode"] += time.perf_counter() - t0
            batch = FrameBatch(frames=frames, out_index=np.arange(start, start + len(idx)), src_index=idx)
            if not self._put(self.q_in, batch):
                return
        self._put(self.q_in, self._END)

    def _encode(self) -> None:
        while True:
            frames = self._get(self.q_out)
            if frames is self._END:
                return
            t0 = time.perf_counter()
            for frame in frames:
                self.writer.write(frame)
            self.busy["encode"] += time.perf_counter() - t0

    def run(self, backend: MouthBackend, cancel: CancelLike, report: Callable[[int], None]) -> float:
        """Render every batch; returns seconds spent in the backend. Raises Canceled or a stage's error."""
        for thread in self.threads:
            thread.start()
        render_s, done = 0.0, 0
        try:
            while True:
                if _canceled(cancel):
                    raise Canceled("The job was canceled.")
                batch = self._get(self.q_in)
                if batch is self._END:
                    break
                t0 = time.perf_counter()
                frames = backend.render(batch)
                render_s += time.perf_counter() - t0
                if len(frames) != len(batch.frames):
                    raise EngineFailure(f"The {backend.name} backend returned the wrong number of frames.")
                if not self._put(self.q_out, frames):
                    break
                done += len(frames)
                report(done)
            if not self.errors:
                self._put(self.q_out, self._END)
                self.threads[1].join()
        except BaseException:
            self.stop.set()
            raise
        finally:
            if self.errors or self.stop.is_set():
                self.stop.set()
            for thread in self.threads:
                thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]
        return render_s


def _load_audio(audio: str | Path | AudioAnalysis, cache_dir: str | None) -> AudioAnalysis:
    analysis = audio if isinstance(audio, AudioAnalysis) else analyse_audio(audio, cache_dir=cache_dir)
    if not analysis.source_path or not Path(analysis.source_path).is_file():
        raise InputError("The driving audio file is no longer available to put into the video.")
    return analysis


def _check_track(track, video: Path, width: int, height: int) -> None:
    if (track.width, track.height) != (width, height):
        raise InputError(
            f"The saved face track is for a {track.width}x{track.height} video, "
            f"but {video.name} is {width}x{height}; analyse this video again."
        )
    if track.video_hash and track.video_hash != file_sha256(video):
        raise InputError(f"The saved face track belongs to a different video than {video.name}.")


def _verify_output(path: Path, writer: FrameWriter, n_out: int, fps: float, with_audio: bool) -> None:
    """The encode must have produced what was asked, before it may replace anything."""
    try:
        info = probe_media(path)
    except InputError as exc:
        raise EngineFailure(f"The encoded video is unreadable: {exc}") from exc
    expected = n_out / fps
    problems = []
    if not info.has_video or (info.width, info.height) != writer.encoded_size:
        problems.append(f"picture {info.width}x{info.height}, expected {writer.encoded_size}")
    if with_audio and not info.has_audio:
        problems.append("no audio stream")
    if abs(info.duration - expected) > 2.5 / fps:
        problems.append(f"duration {info.duration:.3f}s, expected {expected:.3f}s")
    if writer.frames_written != n_out:
        problems.append(f"{writer.frames_written} frames written, expected {n_out}")
    if problems:
        raise EngineFailure("The encoded video is not as expected: " + "; ".join(problems))


def _quality(out: Path, analysis: AudioAnalysis, track, src_index: np.ndarray, video: Path) -> dict | None:
    try:
        from synthesis.quality import quality_report
    except ImportError:  # TODO: remove once synthesis/quality.py has landed
        return None
    return quality_report(out, analysis, track, src_index, video)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _face_track(video: Path, track, cancel: CancelLike, report: Callable[[str, int, int], None], n_src: int):
    if track is not None:
        return track
    from synthesis.facetrack import analyse_video

    return analyse_video(
        video,
        progress=lambda done, total: report("face", done, total or n_src),
        cancel=lambda: _canceled(cancel),
    )


def _hand_reference_frame(backend: MouthBackend, reader: FrameReader) -> None:
    """Backends that borrow texture from the source (the warp's teeth) ask for their best frame up
    front, so the borrowed look is there from the first output frame rather than once it streams by."""
    wanted = getattr(backend, "reference_index", None)
    if wanted is None or wanted < 0 or not hasattr(backend, "set_reference_frame"):
        return
    frame = reader.frame_at(int(wanted))
    if frame is not None:
        backend.set_reference_frame(frame, int(wanted))


def generate(
    audio: str | Path | AudioAnalysis,
    video: str | Path,
    out_path: str | Path,
    options: SynthesisOptions | None = None,
    *,
    backend: MouthBackend | None = None,
    track=None,
    progress: ProgressFn = None,
    cancel: CancelLike = None,
) -> SynthesisResult:
    """Make the presenter in `video` say `audio`; the output lasts as long as the audio."""
    opts = options or SynthesisOptions()
    video, out_path = Path(video), Path(out_path)
    report = _Reporter(progress, detect_faces=track is None, quality=opts.quality_report)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(stage: str, t0: float) -> None:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    report("audio", 0, 1)
    analysis = _load_audio(audio, opts.cache_dir)
    lap("audio", t0)
    report("audio", 1, 1)

    t0 = time.perf_counter()
    info = require_video(probe_media(video, opts.limits))
    reader = FrameReader(video, info)
    if track is not None:
        _check_track(track, video, reader.width, reader.height)
    lap("probe", t0)
    if _canceled(cancel):
        raise Canceled("The job was canceled.")

    t0 = time.perf_counter()
    track = _face_track(video, track, cancel, report, max(1, info.n_frames))
    lap("face", t0)

    fps = info.fps
    seconds = analysis.duration if opts.max_seconds is None else min(analysis.duration, opts.max_seconds)
    n_out = max(1, round(seconds * fps))
    n_src = 1 if info.is_still_image else max(1, track.n_frames)
    src_index = source_indices(n_out, n_src, opts.length_mode)
    warnings = _warnings(analysis, track, src_index, n_out, n_src, opts.length_mode)

    if backend is None:
        from synthesis.backends import get_backend

        t0 = time.perf_counter()
        backend = get_backend(opts.backend, device=opts.device, checkpoint=opts.checkpoint)
        lap("backend_load", t0)
    batch = _batch_size(opts.batch_size or backend.batch_size, reader.width, reader.height)

    source = SourceFrames(reader, src_index, spool_dir=opts.spool_dir)
    writer: FrameWriter | None = None
    try:
        t0 = time.perf_counter()
        backend.begin(analysis, track, fps, n_out)
        _hand_reference_frame(backend, reader)
        lap("backend_begin", t0)
        writer = FrameWriter(
            out_path, reader.width, reader.height, fps, audio_path=analysis.source_path,
            crf=opts.crf, preset=opts.preset, encoder=opts.encoder, duration=n_out / fps,
        )  # fmt: skip
        t0 = time.perf_counter()
        stream = _Stream(source, writer, src_index, batch)
        timings["render"] = stream.run(backend, cancel, lambda done: report("render", done, n_out))
        timings["decode"], timings["encode"] = stream.busy["decode"], stream.busy["encode"]
        timings["stream_wall"] = time.perf_counter() - t0
        if _canceled(cancel):
            raise Canceled("The job was canceled.")
        t0 = time.perf_counter()
        temp = writer.finish()
        lap("encode", t0)
        t0 = time.perf_counter()
        _verify_output(temp, writer, n_out, fps, with_audio=True)
        if _canceled(cancel):  # last chance: a cancel must never leave a finished file behind
            raise Canceled("The job was canceled.")
        writer.commit()
        lap("verify", t0)
        report("encode", 1, 1)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        source.close()
        backend.close()

    quality, report_path = None, None
    if opts.quality_report:
        t0 = time.perf_counter()
        report("quality", 0, 1)
        try:
            quality = _quality(out_path, analysis, track, src_index, video)
        except Canceled:
            raise
        except Exception as exc:  # the video is fine; a failed report must not fail the job
            warnings.append(f"The quality report could not be computed ({type(exc).__name__}: {exc}).")
        if quality is not None:
            report_path = out_path.with_suffix(".quality.json")
            _write_json(report_path, quality)
            warnings += [w for w in quality.get("warnings", []) if isinstance(w, str) and w not in warnings]
        lap("quality", t0)
        report("quality", 1, 1)
    timings["total"] = time.perf_counter() - started
    return SynthesisResult(
        output_path=str(out_path), frames=n_out, duration=n_out / fps, fps=fps, width=reader.width,
        height=reader.height, face_coverage=float(np.mean(track.present[np.minimum(src_index, track.n_frames - 1)])),
        warnings=warnings, timings=timings, quality=quality, report_path=str(report_path) if report_path else None,
    )  # fmt: skip


def _warnings(analysis: AudioAnalysis, track, src_index: np.ndarray, n_out: int, n_src: int, mode: str) -> list[str]:
    warnings = [_AUDIO_WARNINGS.get(w, w) for w in analysis.warnings]
    present = track.present[np.minimum(src_index, track.n_frames - 1)]
    missing = int(n_out - np.count_nonzero(present))
    if missing == n_out:
        warnings.append("No face was found in the video; it is returned unchanged with the new audio.")
    elif missing:
        warnings.append(f"No face was found in {missing} of {n_out} frames; those frames are left unchanged.")
    if n_out > n_src > 1:
        how = "plays forward and backward" if mode == "pingpong" else "loops"
        warnings.append(f"The video is shorter than the audio, so it {how} to cover the audio.")
    if not math.isfinite(analysis.loudness_lufs) and "audio_silent" not in analysis.warnings:
        warnings.append(_AUDIO_WARNINGS["audio_silent"])
    return warnings
