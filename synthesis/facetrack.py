"""Per-frame face geometry for a presenter video, computed once and cached by the video's content hash.

Detection is the slow, flaky part of every lip-sync tool; here it runs once per presenter, is smoothed so
the mouth never jitters, bridges short misses (motion blur, a hand) and marks long misses so those frames
pass through untouched instead of aborting the job.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.signal import savgol_filter

from synthesis.errors import Canceled, UndecodableMedia

FORMAT_VERSION = 1
N_LANDMARKS = 478
#: gaps (in seconds) shorter than this are bridged by interpolation
MAX_GAP_S = 0.4
#: faces smaller than this share of the frame height are re-meshed on an enlarged crop
_SMALL_FACE = 0.3
_CROP_SCALE = 1.8

# MediaPipe FaceMesh indices used across the engine
FOREHEAD, CHIN = 10, 152
NOSE_TIP = 1
LEFT_CHEEK, RIGHT_CHEEK = 234, 454  # image-left / image-right side of the face oval
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 33, 263
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
#: lips (inner + outer contours) and the chin line: smoothed less, see smooth_landmarks
MOUTH_POINTS = np.array(sorted({
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
    18, 200, 199, 175, 152,
}))
INNER_UPPER_MID, INNER_LOWER_MID = 13, 14

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


@dataclass
class FaceTrack:
    """Smoothed per-frame landmarks of the one presenter face (see synthesis/README.md for the contract)."""

    video_hash: str
    width: int
    height: int
    fps: float
    n_frames: int
    present: np.ndarray  # (N,) bool: usable (detected or bridged)
    detected: np.ndarray  # (N,) bool: raw detection
    boxes: np.ndarray  # (N, 4) float32 x0, y0, x1, y1
    landmarks: np.ndarray  # (N, 478, 2) float32 pixels, upright frame

    @property
    def coverage(self) -> float:
        """Share of frames where a face was actually detected."""
        return float(self.detected.mean()) if self.n_frames else 0.0

    @property
    def present_share(self) -> float:
        return float(self.present.mean()) if self.n_frames else 0.0

    def face_heights(self) -> np.ndarray:
        """Forehead-to-chin distance per frame in pixels (NaN where no face)."""
        h = np.linalg.norm(self.landmarks[:, FOREHEAD] - self.landmarks[:, CHIN], axis=-1)
        return np.where(self.present, h, np.nan).astype(np.float32)

    def median_face_height_ratio(self) -> float:
        """Median face height (box) over the frame height; 0 when no face at all."""
        if not self.detected.any():
            return 0.0
        heights = self.boxes[self.detected, 3] - self.boxes[self.detected, 1]
        return float(np.median(heights) / max(self.height, 1))

    def frontalness(self) -> np.ndarray:
        """Per frame 1 = facing the camera, 0 = profile (yaw from the nose between the cheeks); NaN if no face."""
        return frontalness(self.landmarks, self.present)

    def median_frontalness(self) -> float:
        values = self.frontalness()
        values = values[np.isfinite(values)]
        return float(np.median(values)) if values.size else 0.0

    def mouth_opening(self) -> np.ndarray:
        """Inner-lip gap over face height per frame (NaN where no face)."""
        return np.where(self.present, mouth_opening(self.landmarks), np.nan).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write a compressed, versioned .npz (the cached artefact of the media library)."""
        path = Path(path)
        meta = dict(version=FORMAT_VERSION, video_hash=self.video_hash, width=self.width, height=self.height,
                    fps=self.fps, n_frames=self.n_frames)
        tmp = path.with_name(path.name + ".part.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), present=self.present, detected=self.detected,
                            boxes=self.boxes.astype(np.float32), landmarks=self.landmarks.astype(np.float32))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FaceTrack:
        """Read a track written by save(); refuses other format versions so stale caches get recomputed."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("version") != FORMAT_VERSION:
                raise ValueError(f"face track format {meta.get('version')} is not {FORMAT_VERSION}; recompute it")
            return cls(video_hash=meta["video_hash"], width=int(meta["width"]), height=int(meta["height"]),
                       fps=float(meta["fps"]), n_frames=int(meta["n_frames"]),
                       present=data["present"].astype(bool), detected=data["detected"].astype(bool),
                       boxes=data["boxes"].astype(np.float32), landmarks=data["landmarks"].astype(np.float32))


# ----------------------------------------------------------------------------------------------- geometry
def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap (13-14) divided by face height (10-152); works on (478,2) or (N,478,2)."""
    lm = np.asarray(landmarks, dtype=np.float32)
    gap = np.linalg.norm(lm[..., INNER_UPPER_MID, :] - lm[..., INNER_LOWER_MID, :], axis=-1)
    face = np.linalg.norm(lm[..., FOREHEAD, :] - lm[..., CHIN, :], axis=-1)
    return gap / np.maximum(face, 1e-6)


def frontalness(landmarks: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """1 - |nose offset from the cheek midpoint| / half face width; a turned face drops towards 0."""
    lm = np.asarray(landmarks, dtype=np.float32)
    left, right, nose = lm[..., LEFT_CHEEK, :], lm[..., RIGHT_CHEEK, :], lm[..., NOSE_TIP, :]
    axis = right - left
    half = np.linalg.norm(axis, axis=-1) / 2
    unit = axis / np.maximum(2 * half, 1e-6)[..., None]
    offset = np.sum((nose - (left + right) / 2) * unit, axis=-1)
    value = np.clip(1.0 - np.abs(offset) / np.maximum(half, 1e-6), 0.0, 1.0)
    if present is not None:
        value = np.where(present, value, np.nan)
    return value.astype(np.float32)


def boxes_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Tight x0, y0, x1, y1 of the mesh."""
    return np.concatenate([landmarks.min(axis=-2), landmarks.max(axis=-2)], axis=-1).astype(np.float32)


# ----------------------------------------------------------------------------------------------- detection
class _Detector:
    """FaceMesh in tracking mode, with a crop-and-remesh pass for small faces (offline-models.md)."""

    def __init__(self, static: bool = False) -> None:
        import mediapipe as mp

        fm = mp.solutions.face_mesh
        self._mesh = fm.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=True,
                                 min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._crop_mesh = fm.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                                      min_detection_confidence=0.4)
        self._finder = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.4)

    def close(self) -> None:
        for obj in (self._mesh, self._crop_mesh, self._finder):
            obj.close()

    @staticmethod
    def _points(result, width: int, height: int, x0: float = 0, y0: float = 0, scale: float = 1.0):
        if not result.multi_face_landmarks:
            return None
        pts = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], dtype=np.float32)
        pts[:, 0] = pts[:, 0] * width / scale + x0
        pts[:, 1] = pts[:, 1] * height / scale + y0
        return pts

    def _remesh(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Mesh a square crop ~1.8x the face, upscaled so the face fills the landmark model's input."""
        h, w = rgb.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * _CROP_SCALE
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        crop = rgb[y0:y1, x0:x1]
        scale = 384.0 / max(crop.shape[:2])
        if scale > 1:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        else:
            scale = 1.0
        res = self._crop_mesh.process(np.ascontiguousarray(crop))
        return self._points(res, crop.shape[1], crop.shape[0], x0, y0, scale)

    def detect(self, bgr: np.ndarray) -> np.ndarray | None:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        pts = self._points(self._mesh.process(rgb), w, h)
        if pts is not None:
            box = boxes_from_landmarks(pts)
            if (box[3] - box[1]) >= _SMALL_FACE * h:
                return pts
            refined = self._remesh(rgb, box)
            return refined if refined is not None else pts
        found = self._finder.process(rgb)
        if not found.detections:
            return None
        det = max(found.detections, key=lambda d: d.score[0])
        rb = det.location_data.relative_bounding_box
        box = np.array([rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w, (rb.ymin + rb.height) * h])
        return self._remesh(rgb, box)


# ----------------------------------------------------------------------------------------------- temporal
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    diff = np.diff(padded)
    return list(zip(np.flatnonzero(diff == 1), np.flatnonzero(diff == -1), strict=True))


def fill_gaps(landmarks: np.ndarray, detected: np.ndarray, fps: float, max_gap_s: float = MAX_GAP_S):
    """Bridge misses up to max_gap_s: interpolate between detections (hold at the clip ends).

    Returns (landmarks, present). Longer gaps stay present=False so those frames pass through untouched.
    """
    lm = landmarks.copy()
    present = detected.copy()
    n = len(detected)
    if not detected.any():
        return lm, present
    max_gap = max(1, int(round(max_gap_s * fps)))
    for start, end in _runs(~detected):
        if end - start > max_gap:
            continue
        if start == 0:
            lm[start:end] = lm[end]
        elif end == n:
            lm[start:end] = lm[start - 1]
        else:
            t = (np.arange(start, end) - (start - 1)) / (end - (start - 1))
            lm[start:end] = (1 - t)[:, None, None] * lm[start - 1] + t[:, None, None] * lm[end]
        present[start:end] = True
    return lm, present


def smooth_landmarks(landmarks: np.ndarray, present: np.ndarray, fps: float, window_s: float = 0.28,
                     mouth_window_s: float = 0.2) -> np.ndarray:
    """Zero-phase Savitzky-Golay (order 2) along time inside each present run.

    ~0.28 s removes the tracking jitter (x4-5 less frame-to-frame acceleration) while following head
    motion; the lips and chin get a shorter ~0.2 s window so syllable-rate (4 Hz) source mouth motion
    is kept at ~90%: the warp must know where the source mouth really is to neutralise it.
    """
    out = landmarks.copy()
    for start, end in _runs(present):
        length = end - start
        for idx, win_s in ((slice(None), window_s), (MOUTH_POINTS, mouth_window_s)):
            win = max(3, int(round(win_s * fps)) | 1)
            w = min(win, length if length % 2 else length - 1)
            if w < 3:
                continue
            out[start:end, idx] = savgol_filter(landmarks[start:end, idx], w, min(2, w - 1), axis=0,
                                                mode="interp")
    return out


# ----------------------------------------------------------------------------------------------- decoding
def _iter_frames(path: str | Path, width: int, height: int, fps: float) -> Iterator[np.ndarray]:
    """Upright BGR frames at a constant fps through an ffmpeg pipe (autorotate is ffmpeg's default)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf", f"fps={fps}",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    size = width * height * 3
    try:
        assert proc.stdout is not None
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.kill()
        proc.wait()


def _frames(path: str | Path):
    """(width, height, fps, still, iterator): the shared FrameReader when present, else a private pipe."""
    from synthesis.probe import probe_media

    info = probe_media(path)
    try:
        from synthesis.video_io import FrameReader  # type: ignore[attr-defined]
    except ImportError:
        FrameReader = None  # noqa: N806
    if info.is_still_image:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise UndecodableMedia(f"{Path(path).name} could not be read as an image.")
        return img.shape[1], img.shape[0], info.fps, True, iter([img])
    if FrameReader is not None:
        reader = FrameReader(path, info=info)
        return info.width, info.height, info.fps, False, iter(reader)
    return info.width, info.height, info.fps, False, _iter_frames(path, info.width, info.height, info.fps)


def _assemble(raw: list[np.ndarray | None], width: int, height: int, fps: float, video_hash: str) -> FaceTrack:
    n = len(raw)
    detected = np.array([r is not None for r in raw], dtype=bool)
    lm = np.zeros((n, N_LANDMARKS, 2), np.float32)
    for i, r in enumerate(raw):
        if r is not None:
            lm[i] = r
    lm, present = fill_gaps(lm, detected, fps)
    lm = smooth_landmarks(lm, present, fps).astype(np.float32)
    boxes = boxes_from_landmarks(lm)
    boxes[~present] = 0
    lm[~present] = 0
    return FaceTrack(video_hash=video_hash, width=width, height=height, fps=float(fps), n_frames=n,
                     present=present, detected=detected, boxes=boxes, landmarks=lm)


def analyse_video(path: str | Path, progress: Progress | None = None, cancel: Cancel | None = None,
                  video_hash: str | None = None) -> FaceTrack:
    """Detect, bridge and smooth the face of every frame (a still image gives a 1-frame track)."""
    from synthesis.hashing import file_sha256

    width, height, fps, still, frames = _frames(path)
    video_hash = video_hash or file_sha256(path)
    detector = _Detector(static=still)
    raw: list[np.ndarray | None] = []
    try:
        for frame in frames:
            if cancel is not None and cancel():
                raise Canceled("Face analysis was canceled.")
            raw.append(detector.detect(frame))
            if progress is not None and len(raw) % 10 == 0:
                progress(len(raw), 0)
    finally:
        detector.close()
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if not raw:
        raise UndecodableMedia(f"{Path(path).name} has no decodable video frames.")
    if progress is not None:
        progress(len(raw), len(raw))
    return _assemble(raw, width, height, fps, video_hash)


def analyse_image(path: str | Path, fps: float = 25.0) -> FaceTrack:
    """One-frame track of a still photo (EXIF orientation applied by OpenCV)."""
    from synthesis.hashing import file_sha256

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UndecodableMedia(f"{Path(path).name} could not be read as an image.")
    return analyse_frames([img], fps, file_sha256(path), static=True)


def analyse_frames(frames, fps: float, video_hash: str = "", static: bool = False) -> FaceTrack:
    """Track over in-memory frames (tests, stills, callers that already decode)."""
    detector = _Detector(static=static)
    try:
        raw = [detector.detect(f) for f in frames]
    finally:
        detector.close()
    if not raw:
        raise UndecodableMedia("no frames to analyse")
    h, w = frames[0].shape[:2]
    return _assemble(raw, w, h, fps, video_hash)
