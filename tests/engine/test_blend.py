"""Blending: a feathered jaw-line mask (never a rectangle), Lab colour matching, ROI-only compositing."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis import blend, samples
from synthesis.facetrack import analyse_frames


@pytest.fixture(scope="module")
def face():
    frame = next(samples.presenter_frames(1))
    track = analyse_frames([frame], fps=25.0, static=True)
    assert track.present[0]
    return frame, track.landmarks[0]


def test_mask_is_feathered_not_a_rectangle(face):
    frame, lm = face
    roi = blend.mask_roi(lm, frame.shape)
    mask = blend.lower_face_mask(lm, roi)
    assert mask.shape == (roi[3] - roi[1], roi[2] - roi[0]) and mask.dtype == np.float32
    assert mask.max() > 0.99 and mask.min() >= 0.0
    # ROI corners are outside the face: zero there (a rectangle would be 1)
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert mask[y, x] < 0.02
    # the edge is a gradual ramp: many pixels strictly between 0 and 1
    ramp = (mask > 0.05) & (mask < 0.95)
    assert ramp.sum() > 0.1 * (mask > 0.05).sum()
    # along the row through the mouth the mask rises smoothly, not in one step
    row = mask[int(lm[13, 1]) - roi[1]]
    assert np.abs(np.diff(row)).max() < 0.2
    # the mouth and chin are fully inside, the eyes are outside
    def at(p):
        return mask[int(p[1]) - roi[1], int(p[0]) - roi[0]]

    assert at(lm[13]) > 0.99 and at(lm[152]) > 0.9
    ey = int(lm[33, 1]) - roi[1]
    assert ey < 0 or mask[ey].max() < 0.05


def test_colour_match_moves_means(face):
    frame, lm = face
    roi = blend.mask_roi(lm, frame.shape)
    mask = blend.lower_face_mask(lm, roi)
    x0, y0, x1, y1 = roi
    ref = frame[y0:y1, x0:x1]
    patch = np.clip(ref.astype(np.int16) + np.array([40, -30, 25]), 0, 255).astype(np.uint8)
    fixed = blend.match_color(patch, ref, mask)
    inside = mask > 0.5
    before = np.abs(patch[inside].mean(0) - ref[inside].mean(0)).sum()
    after = np.abs(fixed[inside].mean(0) - ref[inside].mean(0)).sum()
    assert after < 0.25 * before


def test_composite_touches_only_the_roi(face):
    frame, lm = face
    roi = blend.mask_roi(lm, frame.shape)
    mask = blend.lower_face_mask(lm, roi)
    x0, y0, x1, y1 = roi
    patch = np.full((y1 - y0, x1 - x0, 3), 255, np.uint8)
    out = blend.composite(frame, patch, mask, roi)
    assert out is not frame and out.shape == frame.shape
    outside = np.ones(frame.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], frame[outside])
    inner = out[y0:y1, x0:x1][mask > 0.99]
    assert inner.min() >= 250
    # feathered: some pixels are between the original and the patch
    mid = (mask > 0.3) & (mask < 0.7)
    region = out[y0:y1, x0:x1][mid].astype(int)
    assert np.all(region >= frame[y0:y1, x0:x1][mid].astype(int))
    assert (region < 250).any()


def test_poisson_composite_runs(face):
    frame, lm = face
    roi = blend.mask_roi(lm, frame.shape)
    mask = blend.lower_face_mask(lm, roi)
    x0, y0, x1, y1 = roi
    out = blend.poisson_composite(frame, frame[y0:y1, x0:x1].copy(), mask, roi)
    assert out.shape == frame.shape
    assert np.abs(out.astype(int) - frame.astype(int)).mean() < 3
