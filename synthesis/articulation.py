"""Audio -> per-video-frame mouth shape curves for the weight-free warp backend.

The jaw opens with the loudness of VOICED sound (energy below ~1 kHz, where F1 lives: open vowels are
loud there, fricatives and closures are not); the lips spread for front vowels (high spectral centroid)
and round for back vowels (low centroid). Lips close when there is no voice. Attack is fast and release
slower, as real jaws move, and the curves lead the audio by LEAD_S because the mouth takes its shape
before the sound comes out (viseme onset precedes acoustic onset by ~50-100 ms; BT.1359 also tolerates
video ahead of audio far better than behind it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 16000
HOP = 160  # 10 ms analysis hop
WIN = 400  # 25 ms window
#: the mouth shape shown at frame i is the one of audio time i/fps + LEAD_S
LEAD_S = 0.04
ATTACK_S = 0.04
RELEASE_S = 0.10
#: dB range below the loud-speech reference mapped onto opening 0..1
RANGE_DB = 30.0


@dataclass
class MouthCurves:
    """Per output frame, all in 0..1: jaw/lip opening, lip spread, lip rounding; plus the voice gate used."""

    open: np.ndarray
    spread: np.ndarray
    round: np.ndarray
    voiced: np.ndarray

    def __len__(self) -> int:
        return len(self.open)


def _frames_power(samples: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrogram (T, F) float32 at a 10 ms hop and its frequency axis.

    Computed `chunk` frames at a time so long audio never holds complex128 spectra of every frame at once."""
    x = np.asarray(samples, np.float32)
    pad = np.pad(x, (WIN // 2, WIN // 2 + HOP))
    n = max(1, (len(pad) - WIN) // HOP + 1)
    window = np.hanning(WIN).astype(np.float32)
    spec = np.empty((n, 257), np.float32)
    for k0 in range(0, n, chunk):
        k1 = min(n, k0 + chunk)
        idx = np.arange(WIN)[None, :] + HOP * np.arange(k0, k1)[:, None]
        spec[k0:k1] = np.abs(np.fft.rfft(pad[idx] * window, n=512, axis=1)) ** 2
    return spec, np.fft.rfftfreq(512, 1 / SR)


def _band(spec: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    sel = (freqs >= lo) & (freqs < hi)
    return spec[:, sel].sum(axis=1) + 1e-10


def _attack_release(x: np.ndarray, dt: float, attack: float = ATTACK_S, release: float = RELEASE_S) -> np.ndarray:
    """One-pole follower: rises with time constant `attack`, falls with `release`."""
    a_up, a_down = 1 - np.exp(-dt / attack), 1 - np.exp(-dt / release)
    y = np.empty_like(x)
    state = 0.0
    for i, v in enumerate(x):
        state += (a_up if v > state else a_down) * (v - state)
        y[i] = state
    return y


def _to_video(curve: np.ndarray, fps: float, n_frames: int, lead_s: float) -> np.ndarray:
    """Average the 100 Hz curve over each video frame's interval, shifted earlier by lead_s."""
    t_audio = np.arange(len(curve)) * HOP / SR
    cum = np.concatenate([[0.0], np.cumsum(curve)])
    starts = np.arange(n_frames) / fps + lead_s
    ends = starts + 1 / fps
    i0 = np.clip(np.searchsorted(t_audio, starts), 0, len(curve))
    i1 = np.clip(np.searchsorted(t_audio, ends), 0, len(curve))
    i1 = np.maximum(i1, np.minimum(i0 + 1, len(curve)))
    out = (cum[i1] - cum[i0]) / np.maximum(i1 - i0, 1)
    out[i0 >= len(curve)] = 0.0
    return out.astype(np.float32)


def mouth_curves(samples_16k: np.ndarray, fps: float, n_frames: int, vad: np.ndarray | None = None,
                 lead_s: float = LEAD_S) -> MouthCurves:
    """Mouth opening/spread/rounding per video frame from 16 kHz mono audio.

    vad: optional voice probability per VIDEO frame (n_frames,), e.g. from silero-vad; without it an
    energy gate relative to the clip's own noise floor decides what is silence.
    """
    n_frames = int(n_frames)
    zeros = np.zeros(n_frames, np.float32)
    x = np.asarray(samples_16k, np.float32)
    if n_frames == 0 or x.size == 0 or float(np.abs(x).max()) < 1e-4:
        return MouthCurves(zeros, zeros.copy(), zeros.copy(), zeros.copy())
    spec, freqs = _frames_power(x)
    dt = HOP / SR
    total_db = 10 * np.log10(_band(spec, freqs, 80, 7600))
    voiced_db = 10 * np.log10(_band(spec, freqs, 80, 1000))
    fric_db = 10 * np.log10(_band(spec, freqs, 3000, 7600))

    # loudness reference of this speaker/recording: robust "loud speech" level
    ref = float(np.percentile(voiced_db, 95))
    floor = float(np.percentile(total_db, 10))
    # jaw opening: voiced energy on a dB scale, minus a penalty when the frame is fricative-dominated
    fric_penalty = np.clip((fric_db - voiced_db) / 20.0, 0, 1) * 0.4
    raw_open = np.clip((voiced_db - (ref - RANGE_DB)) / RANGE_DB, 0, 1)
    raw_open = np.clip(raw_open ** 1.3 - fric_penalty, 0, 1)

    # voice gate at 100 Hz when no VAD is supplied: clearly above the noise floor and not quiet overall
    gate = np.clip((total_db - max(floor + 10, ref - 45)) / 8.0, 0, 1)
    raw_open *= gate

    # spectral centroid of the vowel band -> spread (front vowels, high F2) vs round (back vowels)
    band = (freqs >= 200) & (freqs < 3500)
    centroid = (spec[:, band] * freqs[band]).sum(1) / (spec[:, band].sum(1) + 1e-10)
    weight = raw_open > 0.15
    if weight.sum() > 5:
        mid = float(np.median(centroid[weight]))
        scale = float(np.std(centroid[weight])) + 1e-6
    else:
        mid, scale = 1200.0, 300.0
    z = (centroid - mid) / scale
    raw_spread = np.clip(z * 0.5, 0, 1) * np.minimum(raw_open * 2, 1)
    raw_round = np.clip(-z * 0.5, 0, 1) * np.minimum(raw_open * 2, 1)

    open_ = _attack_release(raw_open, dt)
    spread = _attack_release(raw_spread, dt, 0.06, 0.15)
    round_ = _attack_release(raw_round, dt, 0.06, 0.15)

    o = _to_video(open_, fps, n_frames, lead_s)
    s = _to_video(spread, fps, n_frames, lead_s)
    r = _to_video(round_, fps, n_frames, lead_s)
    voiced = _to_video(gate, fps, n_frames, lead_s)
    if vad is not None:
        v = np.asarray(vad, np.float32)[:n_frames]
        v = np.pad(v, (0, n_frames - len(v)))
        # the VAD decides silence; shift it by the same lead and soften its edges so lips close smoothly
        shift = int(round(lead_s * fps))
        if shift:
            v = np.concatenate([v[shift:], np.repeat(v[-1:], shift)])
        v = np.convolve(np.clip(v, 0, 1), np.ones(3) / 3, mode="same")
        o, s, r = o * v, s * v, r * v
        voiced = v.astype(np.float32)
    return MouthCurves(o.astype(np.float32), s.astype(np.float32), r.astype(np.float32), voiced)
