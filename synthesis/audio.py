"""Driving-audio analysis, computed once per audio and shared by every video of a batch.

Everything works on 16 kHz mono float32 (what Wav2Lip and silero-vad expect). The Wav2Lip mel
features follow the published recipe exactly, because the checkpoints were trained on them.
"""

from __future__ import annotations

import math
import os
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthesis.errors import EngineFailure, NoAudioStream, UndecodableMedia
from synthesis.hashing import file_sha256

SAMPLE_RATE = 16000
MEL_STEPS_PER_SECOND = 80
MEL_WINDOW = 16
TARGET_LUFS = -23.0
PEAK_CEILING = 0.98
#: bump when the analysis changes, so stale cache files are ignored
ANALYSIS_VERSION = 1
_VAD_CHUNK = 512  # silero-vad works on 32 ms chunks at 16 kHz


# ---------------------------------------------------------------- decoding


def load_audio_16k(path: str | Path, timeout: float | None = None) -> np.ndarray:
    """Decode the first audio stream of anything ffmpeg reads to 16 kHz mono float32."""
    args = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "pipe:1",
    ]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise EngineFailure("ffmpeg is not installed on this server.") from exc
    except subprocess.TimeoutExpired as exc:
        raise UndecodableMedia(f"Decoding the audio of {Path(path).name} took too long.") from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "matches no streams" in stderr:
            raise NoAudioStream(f"{Path(path).name} has no sound track; an audio file with speech is needed.")
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
        raise UndecodableMedia(f"This file could not be read as audio or video: {Path(path).name} ({last}).")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


# ---------------------------------------------------------------- Wav2Lip features

_MEL_BASIS: np.ndarray | None = None


def _mel_basis() -> np.ndarray:
    global _MEL_BASIS
    if _MEL_BASIS is None:
        import librosa

        _MEL_BASIS = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    return _MEL_BASIS


#: STFT frames computed per chunk: bounds wav2lip_mel's working memory (a 10-minute audio in one STFT
#: would need ~1 GB of complex128 intermediates) without changing a single output value.
MEL_CHUNK_FRAMES = 4096


def wav2lip_mel(samples_16k: np.ndarray) -> np.ndarray:
    """Wav2Lip's mel spectrogram (80, T), symmetric-normalised to [-4, 4] (hparams of the checkpoints).

    Same frames as `librosa.stft(n_fft=800, hop_length=200, center=True)` with zero padding: the signal is
    padded once, then cut into chunks of whole frames (each frame k covers padded[k*hop : k*hop + n_fft]).
    """
    import librosa
    from scipy.signal import lfilter

    n_fft, hop = 800, 200
    wav = lfilter([1, -0.97], [1], np.asarray(samples_16k, dtype=np.float64))
    padded = np.pad(wav, n_fft // 2)
    n_frames = 1 + (len(padded) - n_fft) // hop
    out = np.empty((80, n_frames), dtype=np.float32)
    for k0 in range(0, n_frames, MEL_CHUNK_FRAMES):
        k1 = min(n_frames, k0 + MEL_CHUNK_FRAMES)
        piece = padded[k0 * hop : (k1 - 1) * hop + n_fft]
        spec = np.abs(librosa.stft(y=piece, n_fft=n_fft, hop_length=hop, win_length=n_fft, center=False))
        db = 20 * np.log10(np.maximum(1e-5, np.dot(_mel_basis(), spec))) - 20
        out[:, k0:k1] = np.clip((2 * 4) * ((db + 100) / 100) - 4, -4, 4)
    return out


def mel_windows(mel: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """One 16-step mel window per video frame, (n_frames, 80, 16) float32.

    Window i starts at int(80 * i / fps); a window that would run past the end is right-aligned
    (Wav2Lip inference's rule), and audio shorter than one window is edge-padded.
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.shape[1] < MEL_WINDOW:
        mel = np.pad(mel, ((0, 0), (0, MEL_WINDOW - mel.shape[1])), mode="edge")
    last_start = mel.shape[1] - MEL_WINDOW
    out = np.empty((n_frames, mel.shape[0], MEL_WINDOW), dtype=np.float32)
    for i in range(n_frames):
        start = min(int(MEL_STEPS_PER_SECOND * i / fps), last_start)
        out[i] = mel[:, start : start + MEL_WINDOW]
    return out


# ---------------------------------------------------------------- loudness (ITU-R BS.1770-4)


def _biquad_shelf(fs: float) -> tuple[np.ndarray, np.ndarray]:
    gain_db, q, fc = 3.99984385397, 0.7071752369554193, 1681.9744509555319
    k = math.tan(math.pi * fc / fs)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return b, a


def _biquad_highpass(fs: float) -> tuple[np.ndarray, np.ndarray]:
    q, fc = 0.5003270373253953, 38.13547087613982
    k = math.tan(math.pi * fc / fs)
    a0 = 1 + k / q + k * k
    b = np.array([1.0, -2.0, 1.0])
    a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return b, a


def integrated_loudness(samples: np.ndarray, fs: int = SAMPLE_RATE) -> float:
    """Gated integrated loudness in LUFS of a mono signal; -inf for silence."""
    from scipy.signal import lfilter

    x = np.asarray(samples, dtype=np.float64)
    for b, a in (_biquad_shelf(fs), _biquad_highpass(fs)):
        x = lfilter(b, a, x)
    block, step = int(0.4 * fs), int(0.1 * fs)
    if len(x) < block:
        x = np.pad(x, (0, block - len(x)))
    power = np.cumsum(np.concatenate([[0.0], x * x]))
    starts = np.arange(0, len(x) - block + 1, step)
    z = (power[starts + block] - power[starts]) / block
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(z)
    z = z[lk > -70.0]
    if z.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(z.mean()) - 10.0
    with np.errstate(divide="ignore"):
        z = z[-0.691 + 10 * np.log10(z) > relative]
    return float(-0.691 + 10 * np.log10(z.mean()))


# ---------------------------------------------------------------- voice activity

_VAD_MODEL = None
_VAD_LOCK = threading.Lock()


def _vad_model():
    """silero-vad's bundled JIT model, loaded once per process (its import sets torch to 1 thread: undone)."""
    global _VAD_MODEL
    if _VAD_MODEL is None:
        import torch

        threads = torch.get_num_threads()
        from silero_vad import load_silero_vad

        torch.set_num_threads(threads)
        _VAD_MODEL = load_silero_vad()
    return _VAD_MODEL


def vad_chunk_probs(samples_16k: np.ndarray) -> np.ndarray:
    """Speech probability per 32 ms chunk (512 samples)."""
    n_chunks = math.ceil(len(samples_16k) / _VAD_CHUNK)
    if n_chunks == 0 or not np.any(samples_16k):
        return np.zeros(n_chunks, dtype=np.float32)
    import torch

    x = np.pad(samples_16k, (0, n_chunks * _VAD_CHUNK - len(samples_16k))).astype(np.float32)
    with _VAD_LOCK, torch.inference_mode():
        probs = _vad_model().audio_forward(torch.from_numpy(x), SAMPLE_RATE)
    return probs.reshape(-1).numpy()[:n_chunks].astype(np.float32)


# ---------------------------------------------------------------- the analysis object


def _frame_bounds(fps: float, n_frames: int) -> np.ndarray:
    return np.round(np.arange(n_frames + 1) * SAMPLE_RATE / fps).astype(np.int64)


@dataclass(eq=False)
class AudioAnalysis:
    """One driving audio, analysed once: samples, level statistics and voice activity.

    samples are 16 kHz mono, loudness-normalised to about -23 LUFS (limited so peaks stay below 0.98);
    the original file at source_path is what gets muxed into the output.
    """

    audio_hash: str
    samples: np.ndarray
    duration: float
    source_sample_rate: int
    loudness_lufs: float
    clipped_fraction: float
    noise_floor_db: float
    speech_share: float
    vad_probs: np.ndarray
    gain_db: float = 0.0
    source_path: str | None = None
    warnings: list[str] = field(default_factory=list)
    _mel: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_silent(self) -> bool:
        return not math.isfinite(self.loudness_lufs)

    def envelope(self, fps: float, n_frames: int) -> np.ndarray:
        """RMS of the normalised samples over each video frame's interval (0 past the end)."""
        bounds = np.minimum(_frame_bounds(fps, n_frames), len(self.samples))
        power = np.concatenate([[0.0], np.cumsum(self.samples.astype(np.float64) ** 2)])
        length = np.maximum(bounds[1:] - bounds[:-1], 1)
        return np.sqrt(np.maximum(power[bounds[1:]] - power[bounds[:-1]], 0) / length).astype(np.float32)

    def voice_activity(self, fps: float, n_frames: int) -> np.ndarray:
        """Speech probability per video frame: the mean of the VAD chunks the frame overlaps."""
        probs = self.vad_probs
        if probs.size == 0:
            return np.zeros(n_frames, dtype=np.float32)
        bounds = _frame_bounds(fps, n_frames)
        first = np.minimum(bounds[:-1] // _VAD_CHUNK, probs.size)
        last = np.minimum(np.maximum((bounds[1:] - 1) // _VAD_CHUNK + 1, first + 1), probs.size)
        csum = np.concatenate([[0.0], np.cumsum(probs, dtype=np.float64)])
        count = last - first
        out = np.where(count > 0, (csum[last] - csum[first]) / np.maximum(count, 1), 0.0)
        return out.astype(np.float32)

    def mel(self) -> np.ndarray:
        """wav2lip_mel of the samples, computed on first use."""
        if self._mel is None:
            self._mel = wav2lip_mel(self.samples)
        return self._mel

    def save(self, path: str | Path) -> None:
        """Write to .npz (atomically, so a concurrent reader never sees half a file)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        scalars = dict(
            audio_hash=self.audio_hash,
            duration=self.duration,
            source_sample_rate=self.source_sample_rate,
            loudness_lufs=self.loudness_lufs,
            clipped_fraction=self.clipped_fraction,
            noise_floor_db=self.noise_floor_db,
            speech_share=self.speech_share,
            gain_db=self.gain_db,
            version=ANALYSIS_VERSION,
        )
        np.savez(
            tmp,
            samples=self.samples,
            vad_probs=self.vad_probs,
            warnings=np.array(self.warnings, dtype=str),
            **{k: np.array(v) for k, v in scalars.items()},
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, source_path: str | None = None) -> AudioAnalysis:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != ANALYSIS_VERSION:
                raise ValueError("stale analysis cache")
            return cls(
                audio_hash=str(data["audio_hash"]),
                samples=data["samples"],
                duration=float(data["duration"]),
                source_sample_rate=int(data["source_sample_rate"]),
                loudness_lufs=float(data["loudness_lufs"]),
                clipped_fraction=float(data["clipped_fraction"]),
                noise_floor_db=float(data["noise_floor_db"]),
                speech_share=float(data["speech_share"]),
                vad_probs=data["vad_probs"],
                gain_db=float(data["gain_db"]),
                source_path=source_path,
                warnings=[str(w) for w in data["warnings"]],
            )


def _noise_floor_db(samples: np.ndarray) -> float:
    """10th percentile of 20 ms RMS levels in dBFS (-120 for digital silence)."""
    hop = SAMPLE_RATE // 50
    n = len(samples) // hop
    if n == 0:
        return -120.0
    rms = np.sqrt(np.mean(samples[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    return float(max(-120.0, 20 * np.log10(max(np.percentile(rms, 10), 1e-6))))


def _analyse(path: Path, audio_hash: str) -> AudioAnalysis:
    from synthesis.probe import probe_media, require_audio

    info = require_audio(probe_media(path))
    raw = load_audio_16k(path)
    if raw.size == 0:
        raise UndecodableMedia(
            f"This file could not be read as audio or video: {path.name} (no audio samples)."
        )
    loudness = integrated_loudness(raw)
    peak = float(np.max(np.abs(raw)))
    warnings: list[str] = []
    if math.isfinite(loudness):
        gain_db = TARGET_LUFS - loudness
        gain_db = min(gain_db, 20 * math.log10(PEAK_CEILING / peak))
    else:
        gain_db = 0.0
        warnings.append("audio_silent")
    samples = (raw * np.float32(10 ** (gain_db / 20))).astype(np.float32)
    vad = vad_chunk_probs(samples)
    clipped = float(np.mean(np.abs(raw) >= 0.99))
    noise = _noise_floor_db(raw)
    if info.audio_sample_rate and info.audio_sample_rate < SAMPLE_RATE:
        warnings.append("audio_low_sample_rate")
    if clipped > 0.001:
        warnings.append("audio_clipped")
    return AudioAnalysis(
        audio_hash=audio_hash,
        samples=samples,
        duration=len(samples) / SAMPLE_RATE,
        source_sample_rate=int(info.audio_sample_rate or 0),
        loudness_lufs=loudness,
        clipped_fraction=clipped,
        noise_floor_db=noise,
        speech_share=float(np.mean(vad > 0.5)) if vad.size else 0.0,
        vad_probs=vad,
        gain_db=float(gain_db),
        source_path=str(path),
        warnings=warnings,
    )


_LRU: OrderedDict[str, AudioAnalysis] = OrderedDict()
_LRU_SIZE = 4
_LRU_LOCK = threading.Lock()


def analyse_audio(path: str | Path, cache_dir: str | Path | None = None) -> AudioAnalysis:
    """Analyse a driving audio once: in-process LRU, then an .npz cache keyed by content hash."""
    path = Path(path)
    if not path.is_file():
        raise UndecodableMedia(f"This file could not be read as audio or video: {path.name} (it does not exist).")
    audio_hash = file_sha256(path)
    cache_file = Path(cache_dir) / f"audio-{audio_hash}.v{ANALYSIS_VERSION}.npz" if cache_dir else None
    with _LRU_LOCK:
        analysis = _LRU.get(audio_hash)
        if analysis is not None:
            _LRU.move_to_end(audio_hash)
    if analysis is None and cache_file is not None and cache_file.is_file():
        try:
            analysis = AudioAnalysis.load(cache_file, source_path=str(path))
        except (OSError, ValueError, KeyError):
            analysis = None  # unreadable or stale: recompute and overwrite
    if analysis is None:
        analysis = _analyse(path, audio_hash)
    if cache_file is not None and not cache_file.is_file():
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        analysis.save(cache_file)
    with _LRU_LOCK:
        _LRU[audio_hash] = analysis
        _LRU.move_to_end(audio_hash)
        while len(_LRU) > _LRU_SIZE:
            _LRU.popitem(last=False)
    return _with_source(analysis, path)


def _with_source(analysis: AudioAnalysis, path: Path) -> AudioAnalysis:
    """Same content under another name: share the arrays, point the muxer at this file."""
    if analysis.source_path == str(path):
        return analysis
    from dataclasses import replace

    return replace(analysis, source_path=str(path), warnings=list(analysis.warnings))
