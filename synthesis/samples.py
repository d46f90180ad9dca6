"""Sample media made on the spot, for tests, the demo and benchmarks.

Nothing is downloaded: the presenter is scikit-image's bundled astronaut photo (public domain) with a
slight, smooth head motion; speech comes from espeak-ng. These are the only media the project ships.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np


def astronaut_face(size: int = 512) -> np.ndarray:
    """The astronaut photo as a square BGR portrait (face about 40% of the frame height)."""
    from skimage import data

    rgb = data.astronaut()  # 512x512, face roughly at x 170-300, y 40-220
    crop = rgb[0:430, 45:425]
    bgr = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR)
    return cv2.resize(bgr, (size, int(size * crop.shape[0] / crop.shape[1])), interpolation=cv2.INTER_AREA)


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height and centre-crop, keeping the face in frame."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(image, (math.ceil(w * scale), math.ceil(h * scale)), interpolation=cv2.INTER_AREA)
    y0 = 0  # portraits: keep the top of the head, crop below
    x0 = (resized.shape[1] - width) // 2
    return resized[y0 : y0 + height, x0 : x0 + width]


def presenter_frames(n_frames: int, width: int = 640, height: int = 480, fps: float = 25.0, motion: float = 1.0):
    """Yield BGR frames of the astronaut with slow sway and nod (a few pixels, like a person sitting still)."""
    base = _fit(astronaut_face(max(width, height)), width, height)
    for i in range(n_frames):
        t = i / fps
        dx = motion * 6.0 * math.sin(2 * math.pi * 0.23 * t)
        dy = motion * 3.0 * math.sin(2 * math.pi * 0.31 * t + 1.0)
        angle = motion * 1.5 * math.sin(2 * math.pi * 0.17 * t)
        m = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        m[:, 2] += (dx, dy)
        yield cv2.warpAffine(base, m, (width, height), borderMode=cv2.BORDER_REFLECT)


def make_presenter_clip(
    path: str | Path,
    seconds: float = 4.0,
    width: int = 640,
    height: int = 480,
    fps: float = 25.0,
    with_audio: bool = True,
    motion: float = 1.0,
) -> Path:
    """Write an H.264 MP4 presenter clip (optionally with a quiet tone as its own soundtrack)."""
    path = Path(path)
    n = max(1, round(seconds * fps))
    cmd = [
        "ffmpeg", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", f"{fps}", "-i", "pipe:0",
    ]
    if with_audio:
        tone = f"sine=frequency=220:sample_rate=44100:duration={n / fps}"
        cmd += ["-f", "lavfi", "-i", tone, "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in presenter_frames(n, width, height, fps, motion):
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}")
    return path


def make_presenter_photo(path: str | Path, width: int = 640, height: int = 480) -> Path:
    """Write the astronaut portrait as a still image (JPEG or PNG by suffix)."""
    path = Path(path)
    cv2.imwrite(str(path), _fit(astronaut_face(max(width, height)), width, height))
    return path


DEFAULT_TEXT = (
    "Welcome to the quarterly policy update. Please read the new travel guidelines carefully. "
    "Every expense above five hundred dollars needs approval from your manager before booking."
)


def make_speech(
    path: str | Path,
    text: str = DEFAULT_TEXT,
    language: str = "en",
    rate_wpm: int = 150,
    sample_rate: int = 16000,
) -> Path:
    """Speak text with espeak-ng into a WAV file at sample_rate."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    path = Path(path)
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", language, "-s", str(rate_wpm), "-w", str(raw), text], check=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), "-ar", str(sample_rate), "-ac", "1", str(path)],
        check=True,
    )
    raw.unlink(missing_ok=True)
    return path
