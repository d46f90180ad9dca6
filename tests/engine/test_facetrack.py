"""Face track: detection on the astronaut, gap bridging, long misses, smoothing, the cached artefact."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis import samples
from synthesis.facetrack import (
    MAX_GAP_S,
    MOUTH_POINTS,
    FaceTrack,
    analyse_frames,
    analyse_image,
    analyse_video,
    fill_gaps,
    mouth_opening,
    smooth_landmarks,
)


@pytest.fixture(scope="module")
def track(presenter_clip) -> FaceTrack:
    return analyse_video(presenter_clip)


def test_landmarks_found_on_presenter(track):
    assert track.n_frames == 100 and track.fps == pytest.approx(25.0)
    assert (track.width, track.height) == (640, 480)
    assert track.coverage > 0.97 and track.present.all()
    assert track.landmarks.shape == (100, 478, 2) and track.landmarks.dtype == np.float32
    # the face is where the astronaut's face is, and the mouth is below the eyes
    x0, y0, x1, y1 = np.median(track.boxes, axis=0)
    assert 200 < (x0 + x1) / 2 < 440 and 0.3 < (y1 - y0) / 480 < 0.5
    lm = track.landmarks[0]
    assert lm[13, 1] > lm[33, 1] and lm[13, 1] > lm[263, 1]
    assert 0.3 < track.median_face_height_ratio() < 0.5
    assert track.median_frontalness() > 0.85
    assert np.all(np.isfinite(track.mouth_opening()))


def test_black_frames_are_not_detected(black_frames_clip):
    track = analyse_video(black_frames_clip)
    assert not track.detected[20:30].any()
    assert track.detected[:18].all() and track.detected[32:].all()
    # 10 black frames = 0.4 s: exactly the bridging limit, so they are interpolated
    assert track.present[20:30].all() == (round(MAX_GAP_S * 25) >= 10)
    assert 0.85 < track.coverage < 0.95


def test_short_gaps_bridged_long_gaps_pass_through():
    frames = list(samples.presenter_frames(60))
    black = np.zeros_like(frames[0])
    for i in list(range(10, 13)) + list(range(30, 50)):
        frames[i] = black
    track = analyse_frames(frames, fps=25.0)
    assert not track.detected[10:13].any() and not track.detected[30:50].any()
    assert track.present[10:13].all()  # 0.12 s: bridged, interpolated between neighbours
    mid = track.landmarks[11]
    assert np.allclose(mid, (track.landmarks[9] + track.landmarks[13]) / 2, atol=3.0)
    assert not track.present[30:50].any()  # 0.8 s: those frames pass through untouched
    assert np.all(track.boxes[30:50] == 0)


def test_fill_gaps_holds_at_clip_ends():
    lm = np.zeros((10, 478, 2), np.float32)
    lm[2:] = 5.0
    detected = np.array([False, False] + [True] * 8)
    filled, present = fill_gaps(lm, detected, fps=25.0)
    assert present.all() and np.all(filled[:2] == 5.0)


def test_save_load_roundtrip(track, tmp_path):
    path = track.save(tmp_path / "track.npz")
    back = FaceTrack.load(path)
    assert back.video_hash == track.video_hash and back.n_frames == track.n_frames
    assert back.fps == track.fps and (back.width, back.height) == (track.width, track.height)
    np.testing.assert_array_equal(back.landmarks, track.landmarks)
    np.testing.assert_array_equal(back.present, track.present)
    np.testing.assert_array_equal(back.detected, track.detected)
    np.testing.assert_array_equal(back.boxes, track.boxes)
    assert back.coverage == track.coverage


def test_load_refuses_other_versions(track, tmp_path):
    import json

    path = track.save(tmp_path / "track.npz")
    with np.load(path) as data:
        items = dict(data)
    meta = json.loads(str(items["meta"]))
    meta["version"] = 999
    items["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(tmp_path / "old.npz", **items)
    with pytest.raises(ValueError):
        FaceTrack.load(tmp_path / "old.npz")


def test_smoothing_reduces_jitter_but_follows_motion():
    rng = np.random.default_rng(1)
    t = np.arange(100) / 25.0
    true = np.zeros((100, 478, 2), np.float32)
    true[..., 0] = 300 + 20 * np.sin(2 * np.pi * 0.5 * t)[:, None]  # head motion, 20 px
    true[..., 1] = 200 + 8 * np.sin(2 * np.pi * 0.3 * t)[:, None]
    noisy = true + rng.normal(0, 1.0, true.shape).astype(np.float32)
    smooth = smooth_landmarks(noisy, np.ones(100, bool), fps=25.0)
    jitter = lambda x: np.abs(np.diff(x, 2, axis=0)).mean()  # noqa: E731
    face = np.setdiff1d(np.arange(478), MOUTH_POINTS)
    assert jitter(smooth[:, face]) < 0.3 * jitter(noisy[:, face])
    assert jitter(smooth[:, MOUTH_POINTS]) < 0.45 * jitter(noisy[:, MOUTH_POINTS])
    assert np.abs(smooth - true).mean() < 0.6 * np.abs(noisy - true).mean()
    assert np.abs(smooth - true).max() < 4.0  # follows the 20 px head motion


def test_tracked_clip_is_smooth(track):
    # the presenter moves smoothly; the track must not jitter more than a fraction of a pixel per frame
    accel = np.abs(np.diff(track.landmarks[:, [1, 13, 14, 61, 291, 152]], 2, axis=0))
    assert np.median(accel) < 0.5


def test_still_image(presenter_photo):
    track = analyse_image(presenter_photo)
    assert track.n_frames == 1 and track.present[0] and track.detected[0]
    assert track.landmarks.shape == (1, 478, 2)


def test_mouth_opening_helper():
    lm = np.zeros((478, 2), np.float32)
    lm[10] = (0, 0)
    lm[152] = (0, 200)
    lm[13] = (0, 120)
    lm[14] = (0, 130)
    assert mouth_opening(lm) == pytest.approx(0.05)
    assert mouth_opening(np.stack([lm, lm])).shape == (2,)
