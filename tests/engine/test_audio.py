"""Audio analysis: Wav2Lip mel features against an independent implementation, windows, loudness, VAD, cache."""

import numpy as np
import pytest
from scipy.signal import get_window, lfilter

import synthesis.audio as audio_mod
from synthesis.audio import (
    AudioAnalysis,
    analyse_audio,
    integrated_loudness,
    load_audio_16k,
    mel_windows,
    wav2lip_mel,
)
from synthesis.errors import NoAudioStream


def reference_mel(wav: np.ndarray) -> np.ndarray:
    """The documented recipe written out by hand: pre-emphasis, centred Hann STFT, mel, dB, symmetric norm."""
    import librosa

    x = lfilter([1, -0.97], [1], wav.astype(np.float64))
    n_fft, hop = 800, 200
    x = np.pad(x, n_fft // 2)  # librosa.stft centre=True with zero padding
    window = get_window("hann", n_fft, fftbins=True)
    n = 1 + (len(x) - n_fft) // hop
    frames = np.stack([x[i * hop : i * hop + n_fft] * window for i in range(n)], axis=1)
    magnitude = np.abs(np.fft.rfft(frames, axis=0))
    mel = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600) @ magnitude
    db = 20 * np.log10(np.maximum(1e-5, mel)) - 20
    return np.clip(8 * ((db + 100) / 100) - 4, -4, 4)


def test_wav2lip_mel_matches_the_documented_formula():
    rng = np.random.default_rng(1)
    t = np.arange(int(16000 * 1.5)) / 16000
    wav = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(t.size)
    ours = wav2lip_mel(wav.astype(np.float32))
    ref = reference_mel(wav)
    assert ours.shape == ref.shape == (80, 1 + len(wav) // 200)
    assert ours.dtype == np.float32
    assert np.max(np.abs(ours - ref)) < 1e-3
    assert ours.min() >= -4 and ours.max() <= 4


def test_mel_windows_indexing_and_right_aligned_tail():
    mel = np.arange(80 * 100, dtype=np.float32).reshape(80, 100)
    fps = 25.0
    win = mel_windows(mel, fps, 32)
    assert win.shape == (32, 80, 16) and win.dtype == np.float32
    for i in (0, 1, 7, 26):
        start = int(80 * i / fps)
        np.testing.assert_array_equal(win[i], mel[:, start : start + 16])
    # frame 31 would start at 99: right-aligned to the last 16 steps instead
    np.testing.assert_array_equal(win[31], mel[:, 84:100])
    assert np.all(win[:, 0, -1] <= 99)


def test_mel_windows_pads_very_short_audio():
    mel = np.ones((80, 5), dtype=np.float32)
    assert mel_windows(mel, 30.0, 2).shape == (2, 80, 16)


def test_loudness_calibration():
    t = np.arange(48000 * 5) / 48000
    sine = 10 ** (-20 / 20) * np.sin(2 * np.pi * 1000 * t)  # BS.1770: 1 kHz at -20 dBFS mono = -23.0 LUFS
    assert integrated_loudness(sine, 48000) == pytest.approx(-23.0, abs=0.1)
    assert integrated_loudness(np.zeros(16000)) == float("-inf")


def test_speech_analysis(speech_wav):
    a = analyse_audio(speech_wav)
    assert isinstance(a, AudioAnalysis) and len(a.audio_hash) == 64
    assert a.samples.dtype == np.float32 and a.duration == pytest.approx(len(a.samples) / 16000)
    assert integrated_loudness(a.samples) == pytest.approx(-23.0, abs=0.5) or np.abs(a.samples).max() >= 0.97
    assert a.source_sample_rate == 16000 and a.clipped_fraction < 0.001 and not a.is_silent
    assert 0.4 < a.speech_share <= 1.0
    n = int(a.duration * 25)
    vad, env = a.voice_activity(25, n), a.envelope(25, n)
    assert vad.shape == env.shape == (n,)
    assert vad.min() >= 0 and vad.max() <= 1 and vad.max() > 0.9
    assert env[vad > 0.9].mean() > 3 * env[vad < 0.1].mean()  # speech is louder than the pauses
    assert a.mel().shape == (80, 1 + len(a.samples) // 200) and a.mel() is a.mel()
    assert np.all(a.envelope(25, n + 50)[-10:] == 0)  # past the end of the audio


def test_silent_audio_does_not_crash(silent_wav):
    a = analyse_audio(silent_wav)
    assert a.is_silent and "audio_silent" in a.warnings
    assert np.all(a.envelope(25, 75) == 0) and np.all(a.voice_activity(25, 75) == 0)
    assert a.speech_share == 0 and a.mel().shape[0] == 80


def test_cache_by_content_hash(speech_wav, tmp_path):
    cache = tmp_path / "cache"
    first = analyse_audio(speech_wav, cache_dir=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and first.audio_hash in files[0].name
    audio_mod._LRU.clear()
    again = analyse_audio(speech_wav, cache_dir=cache)
    assert again is not first
    np.testing.assert_array_equal(again.samples, first.samples)
    np.testing.assert_array_equal(again.vad_probs, first.vad_probs)
    assert again.loudness_lufs == first.loudness_lufs and again.source_path == str(speech_wav)
    assert analyse_audio(speech_wav, cache_dir=cache) is again  # in-process LRU


def test_decodes_any_container(audio_only_m4a, speech_wav):
    a, b = load_audio_16k(audio_only_m4a), load_audio_16k(speech_wav)
    assert a.dtype == np.float32 and abs(len(a) - len(b)) < 2048


def test_video_without_sound(presenter_clip_30fps):
    with pytest.raises(NoAudioStream):
        load_audio_16k(presenter_clip_30fps)
    with pytest.raises(NoAudioStream):
        analyse_audio(presenter_clip_30fps)
