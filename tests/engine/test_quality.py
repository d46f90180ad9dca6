"""Quality report on a real warp output: sync, fidelity, silence closure, input warnings, JSON-able."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from synthesis.audio import analyse_audio
from synthesis.backends.base import FrameBatch
from synthesis.backends.warp import WarpBackend
from synthesis.facetrack import FaceTrack, analyse_video
from synthesis.probe import probe_media
from synthesis.quality import best_lag_correlation, input_warnings, quality_report, sync_score
from synthesis.video_io import FrameReader, FrameWriter

FPS = 25.0


@pytest.fixture(scope="module")
def warped(presenter_clip, speech_wav, tmp_path_factory):
    """The presenter saying speech_wav (cut to the clip's 100 frames), written as MP4 with that audio."""
    frames = [f.copy() for f in FrameReader(presenter_clip, probe_media(presenter_clip))]
    track = analyse_video(presenter_clip)
    audio = analyse_audio(speech_wav)
    n = len(frames)
    backend = WarpBackend()
    backend.begin(audio, track, FPS, n)
    out = backend.render(FrameBatch(frames, np.arange(n), np.arange(n)))
    path = tmp_path_factory.mktemp("quality") / "warp.mp4"
    writer = FrameWriter(path, 640, 480, FPS, audio_path=speech_wav)
    for f in out:
        writer.write(f)
    writer.close()
    return path, audio, track, n


def test_report_on_warp_output(warped, presenter_clip):
    path, audio, track, n = warped
    report = quality_report(path, audio, track, np.arange(n), presenter_clip)
    json.dumps(report)  # JSON-able
    assert report["sync"]["r"] >= 0.5 and abs(report["sync"]["lag_frames"]) <= 2
    assert report["sync"]["frames_measured"] >= 0.95 * n
    assert report["sync"]["lag_ms"] == pytest.approx(1000 * report["sync"]["lag_frames"] / FPS)
    # outside the lower face the picture is the source (only H.264 re-encoding noise)
    assert report["fidelity"]["psnr_outside_mask_db"] > 33 and report["fidelity"]["frames_compared"] >= 10
    assert report["silence"]["silent_frames"] > 0 and report["silence"]["closure"] >= 0.8
    assert report["face"]["coverage"] > 0.97
    assert report["output"]["frames"] == n and report["warnings"] == []


def test_source_itself_scores_low_fidelity_difference(presenter_clip, speech_wav):
    # the untouched presenter clip: its mouth does not follow the speech; fidelity is perfect-ish
    track = analyse_video(presenter_clip)
    report = quality_report(presenter_clip, analyse_audio(speech_wav), track, np.arange(100), presenter_clip)
    assert report["fidelity"]["psnr_outside_mask_db"] > 60
    assert report["sync"]["r"] < 0.4


def test_sync_score_against_unrelated_audio(warped, speech_wav, other_speech_wav):
    path, *_ = warped
    good = sync_score(path, speech_wav)
    bad = sync_score(path, other_speech_wav)
    assert good["r"] >= 0.5 and bad["r"] < good["r"] - 0.25
    assert set(good) >= {"r", "lag_frames", "lag_ms", "frames_measured"}


def test_best_lag_correlation_finds_the_offset():
    rng = np.random.default_rng(0)
    env = np.convolve(rng.random(200), np.ones(4) / 4, mode="same")
    mouth = np.roll(env, -2)  # the mouth moves 2 frames before the sound
    r, lag, by_lag = best_lag_correlation([mouth], [env])
    assert lag == 2 and r > 0.95 and len(by_lag) == 11


def _track(height_ratio: float, yaw: float = 0.0) -> FaceTrack:
    lm = np.zeros((5, 478, 2), np.float32)
    h = 480 * height_ratio
    lm[:, 10] = (320, 100)
    lm[:, 152] = (320, 100 + h)
    lm[:, 234] = (320 - h / 3, 100 + h / 2)
    lm[:, 454] = (320 + h / 3, 100 + h / 2)
    lm[:, 1] = (320 + yaw * h / 3, 100 + h / 2)
    boxes = np.tile(np.array([320 - h / 3, 100, 320 + h / 3, 100 + h], np.float32), (5, 1))
    ones = np.ones(5, bool)
    return FaceTrack("x", 640, 480, 25.0, 5, ones, ones.copy(), boxes, lm)


def test_input_warnings():
    clean = SimpleNamespace(source_sample_rate=44100, clipped_fraction=0.0, noise_floor_db=-70.0, warnings=[])
    assert input_warnings(clean, _track(0.45), 60) == []
    joined = " ".join(input_warnings(clean, _track(0.2), 60))
    assert "third" in joined
    assert any("turned" in w for w in input_warnings(clean, _track(0.45, yaw=0.8), 60))
    assert any("5 minutes" in w for w in input_warnings(clean, _track(0.45), 400))
    bad_audio = SimpleNamespace(source_sample_rate=8000, clipped_fraction=0.02, noise_floor_db=-30.0, warnings=[])
    text = " ".join(input_warnings(bad_audio, _track(0.45), 60))
    assert "8000 Hz" in text and "clipped" in text and "noisy" in text
