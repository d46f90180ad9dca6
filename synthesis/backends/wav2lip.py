"""Wav2Lip as a MouthBackend: the published network, fed from the cached face track, blended softly.

Unlike the reference inference it never detects faces (the track is cached), never holds the video in
memory (one batch at a time), lets faceless frames through, and composites only the lower face with a
feathered, colour-matched mask instead of hard-pasting the square crop.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch

from synthesis import blend
from synthesis.audio import MEL_STEPS_PER_SECOND, AudioAnalysis, mel_windows, wav2lip_mel
from synthesis.backends.base import FrameBatch, MouthBackend
from synthesis.errors import ModelWeightsMissing
from synthesis.facetrack import CHIN, FaceTrack
from synthesis.models.wav2lip import CHECKPOINT_SETTING, load_wav2lip

FACE_SIZE = 96
#: Mel window offset vs. the video frame's time. The reference inference starts frame i's window at
#: int(80 * i / fps), but training (get_segmented_mels: 1-indexing, then i - 2) started it one 25-fps frame
#: earlier (Wav2Lip #312/#437/#680). We follow training: -40 ms, i.e. the window spans -40..+160 ms.
AUDIO_OFFSET_S = -0.04
#: crop box relative to the mesh (forehead 10 .. chin 152): S3FD-like, a little forehead cut, chin padded
#: (the reference pads 10 px below a ~200 px face)
BOX_TOP_CUT, BOX_BOTTOM_PAD = 0.08, 0.06
#: boxes are averaged over this many frames (the reference smooths over 5)
BOX_SMOOTH = 5
#: only the generated half of the crop may show: the mask ramps in across these fractions of the box height
GEN_TOP = (0.45, 0.58)
#: partial Lab colour matching: full matching would undo a legitimately darker open mouth
COLOR_MATCH = 0.5
#: network precision choices; "auto" is fp16 on CUDA, fp32 on CPU (bf16 is ~2x faster on CPUs with
#: avx512_bf16/AMX but moves outputs by up to ~3e-2, so it is opt-in; see bench/README.md)
PRECISIONS = {"auto": None, "fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def face_boxes(track: FaceTrack) -> np.ndarray:
    """Square crop boxes (N, 4) float32 from the landmarks, smoothed over BOX_SMOOTH present frames."""
    lm = track.landmarks
    x0, y0 = lm[..., 0].min(-1), lm[..., 1].min(-1)
    x1 = lm[..., 0].max(-1)
    h = lm[:, CHIN, 1] - y0
    top = y0 + BOX_TOP_CUT * h
    bottom = lm[:, CHIN, 1] + BOX_BOTTOM_PAD * h
    side = np.maximum(bottom - top, x1 - x0)
    cx, cy = (x0 + x1) / 2, (top + bottom) / 2
    boxes = np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1).astype(np.float32)
    return _smooth_runs(boxes, track.present.astype(bool), BOX_SMOOTH)


def _smooth_runs(values: np.ndarray, present: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average of k frames inside each run of present frames (windows shrink at run ends)."""
    out = values.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        run = values[start:stop].astype(np.float64)
        csum = np.concatenate([np.zeros((1, run.shape[1])), np.cumsum(run, axis=0)])
        idx = np.arange(len(run))
        lo, hi = np.maximum(idx - k // 2, 0), np.minimum(idx + k // 2 + 1, len(run))
        out[start:stop] = (csum[hi] - csum[lo]) / (hi - lo)[:, None]
    return out


def window_indices(n_mel: int, fps: float, n_out: int, offset_s: float = AUDIO_OFFSET_S) -> np.ndarray:
    """(n_out, 16) mel column indices per output frame: mel_windows' rule applied to an index ramp.

    Running mel_windows on the column numbers keeps its exact start/right-align/padding rule, costs 64 bytes
    per frame instead of 5 kB, and lets the offset be a simple shift of the ramp (clamped at the start).
    """
    shift = round(offset_s * MEL_STEPS_PER_SECOND)
    cols = np.arange(max(n_mel, 1), dtype=np.float32)
    # earlier: frame 0 repeats the first column (silence before the audio); later: skip the first columns
    ramp = np.concatenate([np.zeros(-shift, np.float32), cols]) if shift < 0 else cols[min(shift, len(cols) - 1):]
    idx = mel_windows(ramp[None, :], fps, n_out)[:, 0, :]
    return np.rint(idx).astype(np.int32)


def _box_ramp(roi: blend.Roi, box: tuple[int, int, int, int]) -> np.ndarray:
    """Soft (roi_h, roi_w) weight: 0 outside the crop box and above its generated lower half, feathered edges."""
    rx0, ry0, rx1, ry1 = roi
    bx0, by0, bx1, by1 = (float(v) for v in box)  # may extend past the frame
    side = bx1 - bx0
    margin = max(2.0, 0.06 * side)
    xs = np.arange(rx0, rx1, dtype=np.float32) + 0.5
    ys = np.arange(ry0, ry1, dtype=np.float32) + 0.5
    wx = np.clip(np.minimum(xs - bx0, bx1 - xs) / margin, 0, 1)
    top0, top1 = by0 + GEN_TOP[0] * side, by0 + GEN_TOP[1] * side
    wy = np.clip(np.minimum((ys - top0) / (top1 - top0), (by1 - ys) / margin), 0, 1)
    w = wy[:, None] * wx[None, :]
    return w * w * (3 - 2 * w)  # smoothstep: no visible kink


class Wav2LipBackend(MouthBackend):
    """Lower face from the Wav2Lip generator; the model loads once and serves every video."""

    name = "wav2lip"

    def __init__(self, checkpoint: str | os.PathLike | None = None, device: str = "cpu", batch_size: int = 32,
                 audio_offset_s: float = AUDIO_OFFSET_S, precision: str = "auto") -> None:
        checkpoint = checkpoint or os.environ.get(CHECKPOINT_SETTING) or None
        if checkpoint is None:
            raise ModelWeightsMissing(
                f"The Wav2Lip backend needs a checkpoint: set {CHECKPOINT_SETTING} to the path of wav2lip.pth or "
                f"wav2lip_gan.pth (the published Rudrabha/Wav2Lip weights, downloaded by the operator), or pass "
                f"checkpoint=...; the 'warp' backend needs no weights."
            )
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.audio_offset_s = audio_offset_s
        self.model = load_wav2lip(checkpoint, self.device, dtype=PRECISIONS[precision])
        self._mel: np.ndarray | None = None
        self._windows: np.ndarray | None = None
        self._track: FaceTrack | None = None
        self._boxes: np.ndarray | None = None

    def begin(self, audio: AudioAnalysis, track: FaceTrack, fps: float, n_out: int) -> None:
        mel = audio.mel() if hasattr(audio, "mel") else wav2lip_mel(audio.samples)
        self._mel = np.ascontiguousarray(mel, dtype=np.float32)
        self._windows = window_indices(self._mel.shape[1], fps, n_out, self.audio_offset_s)
        self._track = track
        self._boxes = face_boxes(track)

    def close(self) -> None:
        self._mel = self._windows = self._track = self._boxes = None

    # ------------------------------------------------------------------ per batch
    def _crop(self, frame: np.ndarray, src: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """96x96 crop of the square face box; parts outside the frame are edge-replicated (keeps the aspect)."""
        h, w = frame.shape[:2]
        bx0, by0, bx1, by1 = (int(round(v)) for v in self._boxes[src])
        cx0, cy0, cx1, cy1 = max(0, bx0), max(0, by0), min(w, bx1), min(h, by1)
        if cx1 - cx0 < 8 or cy1 - cy0 < 8:
            return None
        crop = frame[cy0:cy1, cx0:cx1]
        if (cx0, cy0, cx1, cy1) != (bx0, by0, bx1, by1):
            crop = cv2.copyMakeBorder(crop, cy0 - by0, by1 - cy1, cx0 - bx0, bx1 - cx1, cv2.BORDER_REPLICATE)
        return cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA), (bx0, by0, bx1, by1)

    def _infer(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(n,80,16) mel windows + (n,96,96,3) BGR uint8 crops -> (n,96,96,3) BGR uint8 generated crops."""
        outs = []
        with torch.inference_mode():
            for i in range(0, len(faces), self.batch_size):
                face = torch.from_numpy(faces[i : i + self.batch_size]).permute(0, 3, 1, 2).float() / 255.0
                masked = face.clone()
                masked[:, :, FACE_SIZE // 2 :] = 0
                x = torch.cat([masked, face], dim=1)  # masked target + unmasked reference (same frame)
                mel = torch.from_numpy(mels[i : i + self.batch_size])[:, None]
                y = self.model(*self.model.prepare_inputs(mel, x))
                outs.append((y.float() * 255.0).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy())
        return np.concatenate(outs)

    def render(self, batch: FrameBatch) -> list[np.ndarray]:
        if self._track is None or self._windows is None or self._mel is None:
            raise RuntimeError("Wav2LipBackend.render() called before begin()")
        result = list(batch.frames)
        todo, crops, boxes, mel_idx = [], [], [], []
        for i, (frame, src, out) in enumerate(zip(batch.frames, batch.src_index, batch.out_index, strict=True)):
            src = int(src)
            if not (0 <= src < len(self._track.present) and self._track.present[src]):
                continue
            cropped = self._crop(frame, src)
            if cropped is None:
                continue
            todo.append(i)
            crops.append(cropped[0])
            boxes.append(cropped[1])
            mel_idx.append(self._windows[min(int(out), len(self._windows) - 1)])
        if not todo:
            return result
        mels = self._mel[:, np.stack(mel_idx)].transpose(1, 0, 2)  # (n, 80, 16)
        generated = self._infer(np.ascontiguousarray(mels), np.stack(crops))
        for j, i in enumerate(todo):
            src = int(batch.src_index[i])
            result[i] = self._paste(batch.frames[i], generated[j], boxes[j], self._track.landmarks[src])
        return result

    def _paste(self, frame: np.ndarray, face: np.ndarray, box: tuple[int, int, int, int],
               landmarks: np.ndarray) -> np.ndarray:
        """Blend the generated crop's lower face into the frame: feathered jaw mask x soft box, colour matched."""
        x0, y0, x1, y1 = box
        roi = blend.mask_roi(landmarks, frame.shape)
        rx0, ry0, rx1, ry1 = roi
        if rx1 <= rx0 or ry1 <= ry0:
            return frame
        up = cv2.resize(face, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
        patch = frame[ry0:ry1, rx0:rx1].copy()
        ix0, iy0, ix1, iy1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
        if ix1 <= ix0 or iy1 <= iy0:
            return frame
        patch[iy0 - ry0 : iy1 - ry0, ix0 - rx0 : ix1 - rx0] = up[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
        mask = blend.lower_face_mask(landmarks, roi) * _box_ramp(roi, box)
        patch = blend.match_color(patch, frame[ry0:ry1, rx0:rx1], mask, strength=COLOR_MATCH)
        return blend.composite(frame, patch, mask.astype(np.float32), roi)
