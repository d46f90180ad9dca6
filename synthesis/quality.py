"""Quality report measured on the OUTPUT video, written beside every result.

No SyncNet weights exist offline, so sync is scored the published weight-free way (Slaney & Covell 2000):
the mouth opening that FaceMesh measures on the output frames (inner-lip gap / face height) is
correlated with the driving audio's RMS envelope per frame; the peak Pearson r within +-5 frames is the
score and its lag the audio/video offset. The same measure against an unrelated audio gives the chance
level. Fidelity (PSNR outside the lower-face mask) shows the rest of the picture was left alone, and
silence closure shows the lips rest when nobody speaks (a top complaint about today's tools).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from synthesis import blend
from synthesis.facetrack import FaceTrack, _Detector, mouth_opening

MAX_LAG = 5
#: frames analysed contiguously; longer videos are measured on evenly spread windows of this size
WINDOW = 250
MAX_WINDOWS = 6
#: inner-lip gap below this share of the face height counts as closed lips
CLOSED_BELOW = 0.025
SILENT_BELOW = 0.3


# ----------------------------------------------------------------------------------------------- signals
def _envelope(samples: np.ndarray, fps: float, n: int) -> np.ndarray:
    bounds = np.minimum(np.round(np.arange(n + 1) * 16000 / fps).astype(np.int64), len(samples))
    power = np.concatenate([[0.0], np.cumsum(np.asarray(samples, np.float64) ** 2)])
    length = np.maximum(bounds[1:] - bounds[:-1], 1)
    return np.sqrt(np.maximum(power[bounds[1:]] - power[bounds[:-1]], 0) / length).astype(np.float32)


def _audio_envelope(audio, fps: float, n: int) -> np.ndarray:
    if hasattr(audio, "envelope"):
        return np.asarray(audio.envelope(fps, n), np.float32)
    return _envelope(_samples(audio), fps, n)


def _samples(audio) -> np.ndarray:
    if isinstance(audio, (str, Path)):
        from synthesis.audio import load_audio_16k

        return load_audio_16k(audio)
    if hasattr(audio, "samples"):
        return np.asarray(audio.samples, np.float32)
    return np.asarray(audio, np.float32)


def _voice(audio, fps: float, n: int) -> np.ndarray:
    """Per-frame voice probability: the analysis' VAD when there is one, else an energy gate."""
    if hasattr(audio, "voice_activity") and getattr(audio, "vad_probs", np.zeros(0)).size:
        return np.asarray(audio.voice_activity(fps, n), np.float32)
    env = _envelope(_samples(audio), fps, n)
    db = 20 * np.log10(env + 1e-8)
    if not np.isfinite(db).any() or env.max() < 1e-4:
        return np.zeros(n, np.float32)
    return (db > np.percentile(db, 95) - 30).astype(np.float32)


def _windows(n: int) -> list[tuple[int, int]]:
    if n <= WINDOW * MAX_WINDOWS:
        return [(0, n)]
    starts = np.linspace(0, n - WINDOW, MAX_WINDOWS).astype(int)
    return [(int(s), int(s) + WINDOW) for s in starts]


def best_lag_correlation(opening: list[np.ndarray], envelope: list[np.ndarray], max_lag: int = MAX_LAG):
    """Pearson r of opening[i] vs envelope[i + lag], pooled over windows, best over |lag| <= max_lag.

    A positive lag means the mouth moves before the sound. Returns (r, lag, {lag: r}).
    """
    by_lag: dict[int, float] = {}
    for lag in range(-max_lag, max_lag + 1):
        xs, ys = [], []
        for o, e in zip(opening, envelope, strict=True):
            n = len(o)
            i = np.arange(max(0, -lag), min(n, n - lag))
            if i.size == 0:
                continue
            a, b = o[i], e[i + lag]
            ok = np.isfinite(a) & np.isfinite(b)
            xs.append(a[ok])
            ys.append(b[ok])
        x, y = (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))
        if x.size < 10 or x.std() < 1e-9 or y.std() < 1e-9:
            by_lag[lag] = 0.0
        else:
            by_lag[lag] = float(np.corrcoef(x, y)[0, 1])
    lag = max(by_lag, key=lambda k: by_lag[k])
    return by_lag[lag], lag, by_lag


# ----------------------------------------------------------------------------------------------- measuring
def _measure_output(output_path: str | Path, windows: list[tuple[int, int]], keep=None):
    """Mouth opening per analysed output frame (NaN where no face), plus the frames `keep(i)` asks for."""
    from synthesis.probe import probe_media
    from synthesis.video_io import FrameReader

    info = probe_media(output_path)
    openings = [np.full(b - a, np.nan, np.float32) for a, b in windows]
    kept: dict[int, np.ndarray] = {}
    detector = _Detector(static=False)
    reader = FrameReader(output_path, info)
    wi = 0
    try:
        for i, frame in enumerate(reader):
            while wi < len(windows) and i >= windows[wi][1]:
                wi += 1
            if wi >= len(windows):
                break
            if keep is not None and keep(i):
                kept[i] = frame.copy()
            a, _ = windows[wi]
            if i < a:
                continue
            pts = detector.detect(frame)
            if pts is not None:
                openings[wi][i - a] = float(mouth_opening(pts))
    finally:
        detector.close()
        reader.close()
    return info, openings, kept


def sync_score(output_video: str | Path, audio, max_lag: int = MAX_LAG) -> dict:
    """Sync of a video's mouth with an audio (path, samples or AudioAnalysis): works for any pairing,
    e.g. the driving audio vs an unrelated one."""
    from synthesis.probe import probe_media

    info = probe_media(output_video)
    n = info.n_frames or int(round(info.duration * info.fps))
    windows = _windows(n)
    info, openings, _ = _measure_output(output_video, windows)
    samples = _samples(audio) if not hasattr(audio, "envelope") else None
    env_full = _audio_envelope(audio if samples is None else samples, info.fps, n)
    envs = [env_full[a:b] for a, b in windows]
    openings = [o[: len(e)] for o, e in zip(openings, envs, strict=True)]
    r, lag, by_lag = best_lag_correlation(openings, envs, max_lag)
    measured = int(sum(np.isfinite(o).sum() for o in openings))
    return dict(r=round(r, 4), lag_frames=lag, lag_ms=round(1000 * lag / info.fps, 1), fps=info.fps,
                frames_measured=measured, r_by_lag={str(k): round(v, 4) for k, v in by_lag.items()})


def _psnr(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> float:
    if keep.sum() == 0:
        return float("nan")
    diff = a.astype(np.float32)[keep] - b.astype(np.float32)[keep]
    mse = float(np.mean(diff**2))
    return 99.0 if mse < 1e-10 else 10 * math.log10(255.0**2 / mse)


def _source_frames(source_path: str | Path, wanted: set[int]) -> dict[int, np.ndarray]:
    from synthesis.probe import probe_media
    from synthesis.video_io import FrameReader

    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    reader = FrameReader(source_path, probe_media(source_path))
    last = max(wanted)
    try:
        for i, frame in enumerate(reader):
            if i in wanted:
                out[i] = frame.copy()
            if i >= last:
                break
    finally:
        reader.close()
    return out


def input_warnings(audio, track: FaceTrack | None, duration_s: float) -> list[str]:
    warnings: list[str] = []
    if track is not None and track.n_frames:
        ratio = track.median_face_height_ratio()
        if 0 < ratio < 1 / 3:
            warnings.append(f"The face fills only {ratio:.0%} of the picture height; below a third, the "
                            "mouth is small and lip-sync looks less convincing. Use a closer shot.")
        front = track.median_frontalness()
        if track.detected.any() and front < 0.7:
            warnings.append("The face is turned away from the camera; lip-sync works best facing the camera.")
        if track.coverage < 0.9:
            warnings.append(f"A face was found in only {track.coverage:.0%} of the frames; the others were "
                            "left unchanged.")
    if duration_s > 300:
        warnings.append(f"The video is {duration_s / 60:.1f} minutes long; over 5 minutes, takes are slow to "
                        "review and one flaw spoils the whole take. Consider shorter clips.")
    rate = getattr(audio, "source_sample_rate", None)
    if rate and rate < 16000:
        warnings.append(f"The audio is sampled at {rate} Hz (under 16 kHz): speech detail is missing.")
    clipped = getattr(audio, "clipped_fraction", 0.0) or 0.0
    if clipped > 0.001:
        warnings.append(f"The audio is clipped ({clipped:.1%} of samples at full scale): it will sound distorted.")
    noise = getattr(audio, "noise_floor_db", None)
    if noise is not None and math.isfinite(noise) and noise > -45:
        warnings.append(f"The audio is noisy (background at {noise:.0f} dBFS): mouth motion may follow the noise.")
    for w in getattr(audio, "warnings", None) or []:
        if w not in warnings:
            warnings.append(str(w))
    return warnings


def quality_report(output_path: str | Path, audio, source_track: FaceTrack | None, src_index: np.ndarray,
                   source_path: str | Path | None) -> dict:
    """Sync, fidelity, silence closure and input warnings for one output video; JSON-able."""
    from synthesis.probe import probe_media

    info = probe_media(output_path)
    fps = info.fps
    n = min(info.n_frames or int(round(info.duration * fps)), len(src_index)) if len(src_index) else 0
    windows = _windows(n)
    src_index = np.asarray(src_index, np.int64)
    # fidelity on up to 24 output frames spread over the video
    fid_out = set(np.unique(np.linspace(0, max(n - 1, 0), min(24, n)).astype(int)).tolist()) if n else set()
    info, openings, out_frames = _measure_output(output_path, windows, keep=lambda i: i in fid_out)

    env_full = _audio_envelope(audio, fps, n)
    envs = [env_full[a:b] for a, b in windows]
    r, lag, by_lag = best_lag_correlation(openings, envs)

    # silence closure on the analysed frames
    voice = _voice(audio, fps, n)
    open_all = np.concatenate(openings) if openings else np.zeros(0)
    voice_all = np.concatenate([voice[a:b] for a, b in windows]) if windows else np.zeros(0)
    silent = (voice_all < SILENT_BELOW) & np.isfinite(open_all)
    closure = float(np.mean(open_all[silent] < CLOSED_BELOW)) if silent.any() else None

    # fidelity: PSNR outside the (generously grown) lower-face mask
    psnrs = []
    if source_path is not None and out_frames:
        src = _source_frames(source_path, {int(src_index[i]) for i in out_frames})
        for i, frame in out_frames.items():
            s = int(src_index[i])
            ref = src.get(s)
            if ref is None and len(src) == 1:
                ref = next(iter(src.values()))
            if ref is None or ref.shape != frame.shape:
                continue
            keep = np.ones(frame.shape[:2], bool)
            if source_track is not None and s < source_track.n_frames and source_track.present[s]:
                lm = source_track.landmarks[s]
                roi = blend.mask_roi(lm, frame.shape, expand=0.16, feather=0.05)
                m = blend.lower_face_mask(lm, roi, expand=0.16, feather=0.05)
                x0, y0, x1, y1 = roi
                keep[y0:y1, x0:x1] = m < 0.01
            psnrs.append(_psnr(frame, ref, keep))
    psnrs = [p for p in psnrs if math.isfinite(p)]
    measured = int(np.isfinite(open_all).sum())
    return dict(
        sync=dict(r=round(r, 4), lag_frames=lag, lag_ms=round(1000 * lag / fps, 1) if fps else 0.0,
                  frames_measured=measured, frames_total=n,
                  r_by_lag={str(k): round(v, 4) for k, v in by_lag.items()},
                  method="Pearson r of FaceMesh inner-lip gap / face height vs audio RMS per frame, best lag "
                         f"within +-{MAX_LAG} frames (positive lag: mouth before sound)"),
        fidelity=dict(psnr_outside_mask_db=round(float(np.mean(psnrs)), 2) if psnrs else None,
                      frames_compared=len(psnrs)),
        silence=dict(closure=None if closure is None else round(closure, 4), silent_frames=int(silent.sum()),
                     closed_below=CLOSED_BELOW),
        face=dict(coverage=round(source_track.coverage, 4) if source_track is not None else None,
                  face_height_ratio=round(source_track.median_face_height_ratio(), 4)
                  if source_track is not None else None,
                  frontalness=round(source_track.median_frontalness(), 4) if source_track is not None else None),
        output=dict(width=info.width, height=info.height, fps=fps, frames=n, duration_s=round(info.duration, 3)),
        warnings=input_warnings(audio, source_track, info.duration),
    )
