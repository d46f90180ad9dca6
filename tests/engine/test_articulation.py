"""Audio -> mouth curves: closed in silence, following the speech envelope, smooth, leading slightly."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis.articulation import mouth_curves
from synthesis.audio import load_audio_16k

FPS = 25.0


@pytest.fixture(scope="module")
def speech(speech_wav) -> np.ndarray:
    return load_audio_16k(speech_wav)


def _envelope(x: np.ndarray, n: int) -> np.ndarray:
    hop = int(16000 / FPS)
    x = np.pad(x, (0, max(0, n * hop - len(x))))[: n * hop]
    return np.sqrt((x.reshape(n, hop) ** 2).mean(1))


def test_silence_keeps_lips_closed():
    c = mouth_curves(np.zeros(16000 * 2, np.float32), FPS, 50)
    assert len(c) == 50 and np.all(c.open == 0) and np.all(c.spread == 0) and np.all(c.round == 0)


def test_low_noise_is_silence():
    noise = np.random.default_rng(0).normal(0, 1e-5, 16000).astype(np.float32)
    assert mouth_curves(noise, FPS, 25).open.max() < 0.05


def test_speech_opening_follows_envelope(speech):
    n = int(len(speech) / 16000 * FPS)
    c = mouth_curves(speech, FPS, n)
    env = _envelope(speech, n)
    best = max(np.corrcoef(c.open[max(0, -k): n - max(0, k)], env[max(0, k): n - max(0, -k)])[0, 1]
               for k in range(-2, 3))
    assert best > 0.6
    assert c.open.max() > 0.6 and c.open.min() >= 0.0
    assert np.all((c.spread >= 0) & (c.spread <= 1) & (c.round >= 0) & (c.round <= 1))


def test_pauses_close_the_mouth(speech):
    padded = np.concatenate([np.zeros(16000), speech, np.zeros(16000)]).astype(np.float32)
    n = int(len(padded) / 16000 * FPS)
    c = mouth_curves(padded, FPS, n)
    assert c.open[:20].max() < 0.05  # first 0.8 s: silence
    assert c.open[-15:].max() < 0.05  # last 0.6 s: silence (after the release)
    assert c.open[30:-30].mean() > 0.3


def test_no_jitter(speech):
    n = int(len(speech) / 16000 * FPS)
    c = mouth_curves(speech, FPS, n)
    step = np.abs(np.diff(c.open))
    assert step.max() < 0.45  # no frame-to-frame jumps
    # no flicker: second differences stay small on average
    assert np.abs(np.diff(c.open, 2)).mean() < 0.12
    assert np.abs(np.diff(c.spread)).max() < 0.35 and np.abs(np.diff(c.round)).max() < 0.35


def test_release_slower_than_attack():
    t = np.arange(16000 * 2) / 16000
    x = np.where((t > 0.5) & (t < 1.2), 0.3 * np.sin(2 * np.pi * 220 * t), 0).astype(np.float32)
    c = mouth_curves(x, 100.0, 200, lead_s=0.0)  # 10 ms frames to see the shape
    rise = np.argmax(c.open > 0.9 * c.open.max()) - np.argmax(c.open > 0.1 * c.open.max())
    peak_end = np.flatnonzero(c.open > 0.9 * c.open.max())[-1]
    fall = np.argmax(c.open[peak_end:] < 0.1 * c.open.max())
    assert 0 < rise < fall


def test_mouth_leads_the_sound():
    t = np.arange(16000 * 2) / 16000
    x = np.where(t > 1.0, 0.3 * np.sin(2 * np.pi * 200 * t), 0).astype(np.float32)
    c = mouth_curves(x, FPS, 50)
    onset = int(np.argmax(c.open > 0.1))
    assert onset <= 25  # sound starts at frame 25; the jaw is already moving by then
    assert c.open[:23].max() < 0.05  # but not absurdly early


def test_vad_gates_opening(speech):
    n = int(len(speech) / 16000 * FPS)
    c = mouth_curves(speech, FPS, n, vad=np.zeros(n, np.float32))
    assert c.open.max() == 0
    full = mouth_curves(speech, FPS, n, vad=np.ones(n, np.float32))
    assert full.open.max() > 0.5
