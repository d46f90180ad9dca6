"""Putting a generated lower face back into the frame without a visible edge.

Users of today's tools see a box or seam where the mouth crop is pasted (Wav2Lip #410). Here the edit is
confined to a polygon that follows the jaw line, its edge is Gaussian-feathered, colours are matched in
Lab inside the mask, and only a small region of interest is touched so 720p stays fast.
"""

from __future__ import annotations

import cv2
import numpy as np

# lower half of MediaPipe's face oval, image-right cheek -> chin -> image-left cheek
LOWER_OVAL = [454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234]
NOSE_BRIDGE = 6  # between the eyes; the mask's top edge stays well below it
FOREHEAD, CHIN = 10, 152

Roi = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def face_height(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[FOREHEAD] - landmarks[CHIN]))


def lower_face_polygon(landmarks: np.ndarray, expand: float = 0.10) -> np.ndarray:
    """Jaw-line polygon pushed outwards by `expand` x face height, closed across the cheeks under the eyes."""
    lm = np.asarray(landmarks, np.float32)
    fh = face_height(lm)
    pts = lm[LOWER_OVAL].copy()
    centre = (lm[LOWER_OVAL[0]] + lm[LOWER_OVAL[-1]]) / 2  # mid-cheek, about nose level
    direction = pts - centre
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-6)
    pts += direction * expand * fh
    # top edge: lift the cheek ends slightly towards the eyes so the upper lip area is fully inside
    up = lm[NOSE_BRIDGE] - centre
    top = [pts[-1] + up * 0.15, centre + up * 0.25, pts[0] + up * 0.15]
    return np.vstack([pts, np.array(top, np.float32)]).astype(np.float32)


def mask_roi(landmarks: np.ndarray, frame_shape: tuple[int, ...], expand: float = 0.10,
             feather: float = 0.04) -> Roi:
    """Integer box around the feathered polygon, clipped to the frame."""
    poly = lower_face_polygon(landmarks, expand)
    pad = 3 * feather * face_height(landmarks) + 2
    h, w = frame_shape[:2]
    x0, y0 = np.floor(poly.min(0) - pad).astype(int)
    x1, y1 = np.ceil(poly.max(0) + pad).astype(int)
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def lower_face_mask(landmarks: np.ndarray, roi: Roi, expand: float = 0.10, feather: float = 0.04,
                    out_size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 (roi_h, roi_w) mask in [0, 1]: 1 inside the lower face, Gaussian falloff (sigma = feather x
    face height) across the polygon edge; never a rectangle. out_size=(w, h) samples the same mask on a
    coarser grid (the warp fades its displacement field with it)."""
    x0, y0, x1, y1 = roi
    poly = lower_face_polygon(landmarks, expand) - np.array([x0, y0], np.float32)
    # rasterise at quarter resolution and blur there: same look, ~10x cheaper
    s = 4
    small = np.zeros((max(1, (y1 - y0 + s - 1) // s), max(1, (x1 - x0 + s - 1) // s)), np.float32)
    cv2.fillPoly(small, [np.round(poly / s * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
    sigma = max(0.5, feather * face_height(landmarks) / s)
    small = cv2.GaussianBlur(small, (0, 0), sigma)
    size = out_size or (x1 - x0, y1 - y0)
    mask = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR if out_size is None else cv2.INTER_AREA)
    return np.clip(mask, 0.0, 1.0)


def match_color(patch: np.ndarray, reference: np.ndarray, mask: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Shift patch's Lab mean/std inside mask to the reference's (both BGR uint8, same shape as mask)."""
    weight = mask > 0.5
    if weight.sum() < 16:
        return patch
    src = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).astype(np.float32)
    ref = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB).astype(np.float32)
    s_mean, s_std = src[weight].mean(0), src[weight].std(0) + 1e-3
    r_mean, r_std = ref[weight].mean(0), ref[weight].std(0) + 1e-3
    gain = 1 + strength * (np.clip(r_std / s_std, 0.5, 2.0) - 1)
    out = (src - s_mean) * gain + s_mean + strength * (r_mean - s_mean)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def composite(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, roi: Roi) -> np.ndarray:
    """A copy of frame with patch (the ROI's new content) blended in by mask; pixels outside the ROI are
    bytes-identical to the input."""
    x0, y0, x1, y1 = roi
    out = frame.copy()
    m = np.ascontiguousarray(mask, np.float32)
    out[y0:y1, x0:x1] = cv2.blendLinear(np.ascontiguousarray(patch), np.ascontiguousarray(frame[y0:y1, x0:x1]),
                                        m, 1.0 - m)
    return out


def paste(frame: np.ndarray, patch: np.ndarray, roi: Roi) -> np.ndarray:
    """A copy of frame with the ROI replaced: for patches that already fade into the frame by themselves
    (the warp fades its displacement to zero with the feathered mask: no alpha ghosting)."""
    x0, y0, x1, y1 = roi
    out = frame.copy()
    out[y0:y1, x0:x1] = patch
    return out


def poisson_composite(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, roi: Roi) -> np.ndarray:
    """Gradient-domain paste (cv2.seamlessClone) for patches whose lighting differs from the frame; slower."""
    x0, y0, x1, y1 = roi
    binary = (mask > 0.5).astype(np.uint8) * 255
    if binary.sum() == 0:
        return frame.copy()
    ys, xs = np.nonzero(binary)
    centre = (int(x0 + (xs.min() + xs.max() + 1) // 2), int(y0 + (ys.min() + ys.max() + 1) // 2))
    return cv2.seamlessClone(np.ascontiguousarray(patch), frame, binary, centre, cv2.NORMAL_CLONE)
