"""The default warp backend: sync with the driving audio, faceless frames untouched, stills, neutralisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synthesis import blend
from synthesis.articulation import MouthCurves
from synthesis.audio import analyse_audio
from synthesis.backends.base import FrameBatch
from synthesis.backends.warp import INNER_LO, INNER_UP, MouthWarper, WarpBackend, _geometry, _targets, extract_teeth
from synthesis.facetrack import FaceTrack, _Detector, analyse_frames, analyse_image, analyse_video, mouth_opening
from synthesis.probe import probe_media
from synthesis.quality import CLOSED_BELOW, sync_score
from synthesis.video_io import FrameReader, FrameWriter

FPS = 25.0


@pytest.fixture(scope="module")
def presenter(presenter_clip) -> tuple[list[np.ndarray], FaceTrack]:
    frames = [f.copy() for f in FrameReader(presenter_clip, probe_media(presenter_clip))]
    return frames, analyse_video(presenter_clip)


@pytest.fixture(scope="module")
def speech(speech_wav):
    return analyse_audio(speech_wav)


def _render(backend: WarpBackend, frames: list[np.ndarray], src_index: np.ndarray) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for start in range(0, len(frames), backend.batch_size):
        idx = np.arange(start, min(len(frames), start + backend.batch_size))
        out += backend.render(FrameBatch([frames[i] for i in idx], idx, src_index[idx]))
    return out


def _write(path, frames, audio_path=None):
    h, w = frames[0].shape[:2]
    writer = FrameWriter(path, w, h, FPS, audio_path=audio_path)
    for f in frames:
        writer.write(f)
    return writer.close()


def _openings(frames) -> np.ndarray:
    det = _Detector(static=False)
    try:
        pts = [det.detect(f) for f in frames]
    finally:
        det.close()
    return np.array([mouth_opening(p) if p is not None else np.nan for p in pts], np.float32)


def _best_r(a: np.ndarray, b: np.ndarray, lags: int = 2) -> float:
    n = len(a)
    best = -1.0
    for k in range(-lags, lags + 1):
        x, y = a[max(0, -k): n - max(0, k)], b[max(0, k): n - max(0, -k)]
        ok = np.isfinite(x) & np.isfinite(y)
        best = max(best, float(np.corrcoef(x[ok], y[ok])[0, 1]))
    return best


def test_sync_with_driving_audio_not_with_unrelated(presenter, speech, speech_wav, other_speech_wav, tmp_path):
    frames, track = presenter
    n = len(frames)
    backend = WarpBackend()
    backend.begin(speech, track, FPS, n)
    out = _render(backend, frames, np.arange(n))
    path = _write(tmp_path / "warp.mp4", out, speech_wav)
    good = sync_score(path, speech_wav)
    bad = sync_score(path, other_speech_wav)
    assert good["frames_measured"] >= 0.95 * n
    assert good["r"] >= 0.5, good
    assert abs(good["lag_frames"]) <= 2
    assert bad["r"] < good["r"] - 0.25, (good, bad)


def test_mouth_really_opens_and_closes(presenter, speech):
    frames, track = presenter
    n = len(frames)
    backend = WarpBackend()
    backend.begin(speech, track, FPS, n)
    out = _render(backend, frames, np.arange(n))
    opening = _openings(out)
    env = speech.envelope(FPS, n)
    assert _best_r(opening, env) >= 0.5
    # loud frames open clearly wider than quiet ones (a visible mouth motion, not a 1 px wiggle)
    loud, quiet = env > np.percentile(env, 70), env < np.percentile(env, 20)
    assert np.nanmean(opening[loud]) - np.nanmean(opening[quiet]) > 0.03


def test_faceless_frames_pass_through_untouched(presenter, speech):
    frames, track = presenter
    present = track.present.copy()
    present[[3, 4, 10]] = False
    gapped = FaceTrack(track.video_hash, track.width, track.height, track.fps, track.n_frames, present,
                       track.detected, track.boxes, track.landmarks)
    backend = WarpBackend()
    backend.begin(speech, gapped, FPS, 16)
    batch_frames = [frames[i] for i in range(16)]
    batch_frames[5] = np.zeros_like(frames[5])
    originals = [f.copy() for f in batch_frames]
    out = backend.render(FrameBatch(batch_frames, np.arange(16), np.arange(16)))
    assert len(out) == 16
    for i in (3, 4, 10):
        assert out[i] is batch_frames[i] and out[i].tobytes() == originals[i].tobytes()
    for f, o in zip(batch_frames, originals, strict=True):  # inputs are never modified in place
        assert f.tobytes() == o.tobytes()
    assert any(not np.array_equal(out[i], originals[i]) for i in (6, 7, 8))


def test_only_the_lower_face_changes(presenter):
    frames, track = presenter
    frame, lm = frames[0], track.landmarks[0]
    out = MouthWarper().render(frame, lm, 1.0, 0.3, 0.0)
    roi = blend.mask_roi(lm, frame.shape, expand=0.12, feather=0.045)
    outside = np.ones(frame.shape[:2], bool)
    outside[roi[1]:roi[3], roi[0]:roi[2]] = False
    assert np.array_equal(out[outside], frame[outside])
    # the eyes do not move
    ey = int(lm[33, 1])
    assert np.abs(out[ey - 5: ey + 5].astype(int) - frame[ey - 5: ey + 5].astype(int)).max() <= 2


def test_open_mouth_has_a_dark_cavity_and_teeth_not_a_black_box(presenter):
    frames, track = presenter
    frame, lm = frames[0], track.landmarks[0]
    out = MouthWarper().render(frame, lm, 1.0)
    pts = _Detector(static=True).detect(out)
    assert pts is not None and mouth_opening(pts) > 0.06
    up, lo = pts[INNER_UP[5]], pts[INNER_LO[5]]
    gap = lo[1] - up[1]
    deep = out[int(up[1] + 0.75 * gap) - 1: int(up[1] + 0.75 * gap) + 2, int(up[0]) - 3: int(up[0]) + 4]
    deep = deep.reshape(-1, 3).astype(float).mean(0)
    teeth = out[int(up[1] + 0.15 * gap): int(up[1] + 0.3 * gap) + 1, int(up[0]) - 3: int(up[0]) + 4]
    teeth = teeth.reshape(-1, 3).astype(float).mean(0)
    assert 10 < deep.mean() < 90  # dark, but not black
    assert deep[2] > deep[0]  # reddish-brown, not grey/blue
    assert teeth.mean() > deep.mean() + 60  # a light band of upper teeth under the lip


def test_still_photo(presenter_photo, speech):
    track = analyse_image(presenter_photo)
    photo = cv2.imread(str(presenter_photo))
    n = 100
    backend = WarpBackend()
    backend.begin(speech, track, FPS, n)
    out = _render(backend, [photo] * n, np.zeros(n, np.int64))
    assert all(o.shape == photo.shape for o in out)
    assert _best_r(_openings(out), speech.envelope(FPS, n)) >= 0.5


def test_source_mouth_motion_is_neutralised(presenter, silent_wav):
    frames, track = presenter
    n = 50
    # a source whose own mouth moves: the astronaut warped with a 2 Hz opening
    t = np.arange(n) / FPS
    wave = (0.5 - 0.5 * np.cos(2 * np.pi * 2.0 * t)).astype(np.float32)
    zeros = np.zeros(n, np.float32)
    maker = WarpBackend()
    maker.begin_with_curves(track, MouthCurves(wave, zeros, zeros, np.ones(n, np.float32)))
    moving = _render(maker, frames[:n], np.arange(n))
    src_open = _openings(moving)
    assert np.nanstd(src_open) > 0.015 and np.nanmax(src_open) > 0.05  # the source really talks

    src_track = analyse_frames(moving, FPS)
    backend = WarpBackend()
    backend.begin(analyse_audio(silent_wav), src_track, FPS, n)
    out = _render(backend, moving, np.arange(n))
    out_open = _openings(out)
    assert np.isfinite(out_open).mean() > 0.95
    assert np.nanmax(out_open) < CLOSED_BELOW, out_open
    assert np.nanstd(out_open) < 0.3 * np.nanstd(src_open)


def test_teeth_texture_comes_from_the_source_when_it_shows_teeth(presenter, speech):
    frames, track = presenter
    ref = extract_teeth(frames[0], track.landmarks[0])  # the astronaut smiles with her teeth
    assert ref is not None and ref.score > 0
    backend = WarpBackend()
    backend.begin(speech, track, FPS, 16)
    assert backend.reference_index >= 0
    backend.render(FrameBatch(frames[:16], np.arange(16), np.arange(16)))
    assert backend.teeth is not None and 0 <= backend.teeth.source < 16


def _teeth_and_deep(out):
    pts = _Detector(static=True).detect(out)
    up, lo = pts[INNER_UP[5]], pts[INNER_LO[5]]
    gap = lo[1] - up[1]
    teeth = out[int(up[1] + 0.1 * gap): int(up[1] + 0.3 * gap) + 1, int(up[0]) - 3: int(up[0]) + 4]
    return teeth.reshape(-1, 3).astype(float).mean(0), gap


def test_synthesised_teeth_are_tinted_not_grey_when_the_source_hides_them(presenter):
    frames, track = presenter
    closed = MouthWarper().render(frames[0], track.landmarks[0], 0.0)  # a source that never shows teeth
    lm = analyse_frames([closed], FPS).landmarks[0]
    assert extract_teeth(closed, lm) is None
    out = MouthWarper().render(closed, lm, 1.0)
    teeth, gap = _teeth_and_deep(out)
    assert gap > 8
    assert teeth.mean() > 120  # light
    assert teeth[2] - teeth[0] > 4  # warm off-white from the scene, never a neutral grey


def test_interior_is_stable_over_time(presenter):
    frames, track = presenter
    n = 24
    ones = np.ones(n, np.float32)
    backend = WarpBackend()
    backend.begin_with_curves(track, MouthCurves(0.8 * ones, 0 * ones, 0 * ones, ones))
    out = backend.render(FrameBatch([frames[0]] * n, np.arange(n), np.zeros(n, np.int64)))
    lm = track.landmarks[0]
    x0, y0 = np.floor(lm[[61, 0]].min(0) - 10).astype(int)
    x1, y1 = np.ceil(lm[[291, 17]].max(0) + 20).astype(int)
    diffs = [np.abs(out[i][y0:y1, x0:x1].astype(int) - out[i - 1][y0:y1, x0:x1].astype(int)).max()
             for i in range(1, n)]
    assert max(diffs) <= 2, diffs  # same source frame and shape: no flicker in teeth or cavity


def test_lips_keep_their_thickness_when_opening(presenter):
    _, track = presenter
    lm = track.landmarks[0]
    g = _geometry(lm)
    up_s, up_d, lo_s, lo_d, *_ = _targets(lm, g, 1.0, 0.0, 0.0)
    n = len(INNER_UP) - 2  # rows of the inner, then outer, contours (corners excluded)
    src_up = (up_s[:n] - up_s[n:2 * n]) @ g.ey
    dst_up = (up_d[:n] - up_d[n:2 * n]) @ g.ey
    src_lo = (lo_s[n:2 * n] - lo_s[:n]) @ g.ey
    dst_lo = (lo_d[n:2 * n] - lo_d[:n]) @ g.ey
    assert np.median(dst_up / src_up) > 0.9 and np.median(dst_lo / src_lo) > 0.9
