"""Frames in and out through ffmpeg subprocesses, never holding a whole video in memory.

FrameReader gives upright BGR frames at a constant rate (so variable-timing phone clips still have a
regular frame count), SourceFrames serves them in timeline order (spooling to disk only the frames
that are shown more than once), FrameWriter encodes H.264 + AAC into a unique temp file that is
renamed into place only when the encode succeeded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from synthesis.errors import EngineFailure, UndecodableMedia
from synthesis.probe import MediaInfo

#: x264 preset names -> NVENC p1 (fastest) .. p7 (slowest)
_NVENC_PRESETS = {
    "ultrafast": "p1",
    "superfast": "p1",
    "veryfast": "p2",
    "faster": "p3",
    "fast": "p4",
    "medium": "p4",
    "slow": "p5",
    "slower": "p6",
    "veryslow": "p7",
}


def fps_arg(fps: float) -> str:
    """A rational frame rate for ffmpeg (29.97 -> 30000/1001), so rates are kept exactly."""
    frac = Fraction(fps).limit_denominator(1001)
    return f"{frac.numerator}/{frac.denominator}"


class _StderrTail:
    """Drains a subprocess's stderr in a thread (a full pipe would stall ffmpeg), keeping the tail."""

    def __init__(self, stream) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self.text = (self.text + line.decode("utf-8", "replace"))[-4000:]
        stream.close()

    def join(self) -> str:
        self._thread.join(timeout=5)
        return self.text.strip()


class FrameReader:
    """Iterates the upright BGR uint8 frames of a video (or the single frame of a still image).

    ffmpeg applies rotation metadata itself (autorotate), so frames have info.width x info.height,
    and emits a constant frame rate at info.fps (duplicating/dropping frames of irregular sources).
    """

    def __init__(self, path: str | Path, info: MediaInfo) -> None:
        self.path = str(path)
        self.info = info
        self.width, self.height, self.fps = info.width, info.height, info.fps
        self.frames_read = 0
        self.errors = ""
        self._proc: subprocess.Popen | None = None
        self._still: np.ndarray | None = None
        if info.is_still_image:
            # OpenCV applies EXIF orientation, like the face tracker's reader of stills does
            import cv2

            self._still = cv2.imread(self.path, cv2.IMREAD_COLOR)
            if self._still is not None:
                self.height, self.width = self._still.shape[:2]

    def _command(self) -> list[str]:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", self.path, "-map", "0:v:0", "-an", "-sn", "-dn"]
        if self.info.is_still_image:
            cmd += ["-frames:v", "1"]
        else:
            cmd += ["-fps_mode", "cfr", "-r", fps_arg(self.fps)]
        return cmd + ["-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]

    def frame_at(self, index: int) -> np.ndarray | None:
        """One frame by number, decoded on its own (input seek), without disturbing iteration."""
        if self._still is not None:
            return self._still.copy()
        cmd = self._command()
        cmd[cmd.index("-i") : cmd.index("-i")] = ["-ss", f"{index / self.fps:.6f}"]
        cmd[-4:-4] = ["-frames:v", "1"]
        result = subprocess.run(cmd, capture_output=True, timeout=60)
        size = self.width * self.height * 3
        if len(result.stdout) < size:
            return None
        return np.frombuffer(result.stdout[:size], dtype=np.uint8).reshape(self.height, self.width, 3).copy()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._still is not None:
            self.frames_read = 1
            yield self._still.copy()
            return
        size = self.width * self.height * 3
        self._proc = proc = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tail = _StderrTail(proc.stderr)
        assert proc.stdout is not None
        try:
            while True:
                buf = bytearray(size)
                got = proc.stdout.readinto(buf)
                while got and got < size:
                    more = proc.stdout.readinto(memoryview(buf)[got:])
                    if not more:
                        break
                    got += more
                if got != size:
                    break
                self.frames_read += 1
                yield np.frombuffer(buf, dtype=np.uint8).reshape(self.height, self.width, 3)
        finally:
            self._stop(proc)
            self.errors = tail.join()
        if self.frames_read == 0:
            raise UndecodableMedia(
                f"This file could not be read as audio or video: {Path(self.path).name} "
                f"(no picture could be decoded{': ' + self.errors.splitlines()[-1] if self.errors else ''})."
            )

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()
        proc.wait()

    def close(self) -> None:
        if self._proc is not None:
            self._stop(self._proc)


def _must_keep(src_index: np.ndarray) -> np.ndarray:
    """Source frames that must be stored when read: shown twice, or first needed after a later one."""
    n = int(src_index.max()) + 1 if src_index.size else 0
    counts = np.bincount(src_index, minlength=n)
    seen_max = np.maximum.accumulate(src_index)
    first_pos = np.full(n, -1, dtype=np.int64)
    order = np.arange(src_index.size)[::-1]
    first_pos[src_index[order]] = order  # last write wins -> earliest position
    decoded_at = np.searchsorted(seen_max, np.arange(n), side="left")
    return (counts > 1) | ((counts == 1) & (first_pos > decoded_at))


class SourceFrames:
    """Serves source frames in timeline order with bounded RAM.

    A forward cut streams straight from the decoder. Frames the timeline shows again (ping-pong,
    loop, audio longer than video) are spooled into an np.memmap in a private temp dir when first
    decoded; only those frames are stored. A still image is decoded once. Indices past the real end
    of the stream (probe estimates can be a frame off) get the last decoded frame.
    """

    def __init__(self, reader: FrameReader, src_index: np.ndarray, spool_dir: str | Path | None = None) -> None:
        self.reader = reader
        self.src_index = np.asarray(src_index, dtype=np.int64)
        self._iter = iter(reader)
        self._decoded = 0  # frames pulled from the reader so far
        self._last: np.ndarray | None = None
        self._ended = False
        self._tmpdir: str | None = None
        self._spool: np.memmap | None = None
        self._slot = np.zeros(0, dtype=np.int64)
        keep = _must_keep(self.src_index) if self.src_index.size and not reader.info.is_still_image else None
        if keep is not None and keep.any():
            self._slot = np.where(keep, np.cumsum(keep) - 1, -1)
            self._tmpdir = tempfile.mkdtemp(prefix="synthesis-frames-", dir=spool_dir)
            shape = (int(keep.sum()), reader.height, reader.width, 3)
            self._spool = np.memmap(os.path.join(self._tmpdir, "frames.u8"), dtype=np.uint8, mode="w+", shape=shape)

    @property
    def spooled_frames(self) -> int:
        return 0 if self._spool is None else self._spool.shape[0]

    def _advance(self) -> bool:
        try:
            frame = next(self._iter)
        except StopIteration:
            self._ended = True
            return False
        i = self._decoded
        if i < self._slot.size and self._slot[i] >= 0:
            self._spool[self._slot[i]] = frame
        self._last = frame
        self._decoded += 1
        return True

    def get(self, i: int) -> np.ndarray:
        """Source frame i as a fresh writable array (backends may edit it in place)."""
        if self.reader.info.is_still_image:
            if self._last is None and not self._advance():
                raise UndecodableMedia(f"{Path(self.reader.path).name}: the image could not be decoded.")
            return self._last.copy()
        while self._decoded <= i and not self._ended:
            self._advance()
        if i >= self._decoded - 1:  # the newest frame, or past the real end of the stream
            if self._last is None:
                raise UndecodableMedia(f"{Path(self.reader.path).name}: no video frame could be decoded.")
            return self._last.copy()
        slot = self._slot[i] if i < self._slot.size else -1
        if slot < 0:
            raise RuntimeError(f"source frame {i} was not kept for reuse")  # keep-set bug, not user error
        return np.array(self._spool[slot])

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in self.src_index:
            yield self.get(int(i))

    def close(self) -> None:
        self.reader.close()
        if hasattr(self._iter, "close"):
            self._iter.close()
        self._spool = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> SourceFrames:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FrameWriter:
    """Streams BGR frames into ffmpeg: H.264 yuv420p, +faststart, the driving audio as AAC.

    Output goes to a unique hidden temp file beside the target and is renamed only by commit(), so a
    failed or canceled job leaves nothing and parallel jobs never collide. yuv420p needs even sizes:
    an odd width/height is padded by ONE edge-replicated pixel column/row (no picture is lost; the
    file is at most 1 px larger). The audio is trimmed to the video length.
    """

    def __init__(
        self,
        out_path: str | Path,
        width: int,
        height: int,
        fps: float,
        audio_path: str | Path | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        encoder: str = "libx264",
        duration: float | None = None,
        sample_aspect: str | None = None,
    ) -> None:
        self.out_path = Path(out_path)
        self.width, self.height, self.fps = width, height, fps
        self.frames_written = 0
        self.temp_path = self.out_path.with_name(f".{self.out_path.stem}.{uuid.uuid4().hex}.partial.mp4")
        self._finished = False
        self._committed = False
        cmd = self._command(audio_path, crf, preset, encoder, duration, sample_aspect)
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise EngineFailure("ffmpeg is not installed on this server.") from exc
        self._tail = _StderrTail(self._proc.stderr)

    @property
    def encoded_size(self) -> tuple[int, int]:
        return self.width + self.width % 2, self.height + self.height % 2

    def _command(self, audio_path, crf, preset, encoder, duration, sample_aspect) -> list[str]:
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "-s",
            f"{self.width}x{self.height}",
            "-r",
            fps_arg(self.fps),
            "-i",
            "pipe:0",
        ]
        if audio_path is not None:
            cmd += (["-t", f"{duration:.6f}"] if duration else []) + ["-i", str(audio_path)]
        filters = []
        if self.width % 2 or self.height % 2:
            filters.append("pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0")
            filters.append(f"fillborders=right={self.width % 2}:bottom={self.height % 2}:mode=smear")
        if sample_aspect:
            filters.append(f"setsar={sample_aspect.replace(':', '/')}")
        cmd += ["-map", "0:v:0"] + (["-vf", ",".join(filters)] if filters else [])
        if encoder == "h264_nvenc":
            cmd += [
                "-c:v",
                "h264_nvenc",
                "-preset",
                _NVENC_PRESETS.get(preset, preset),
                "-rc",
                "vbr",
                "-cq",
                str(crf),
                "-b:v",
                "0",
            ]
        elif encoder == "libx264":
            cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf)]
        else:
            raise ValueError(f"unsupported encoder {encoder!r}: use libx264 or h264_nvenc")
        cmd += ["-pix_fmt", "yuv420p", "-r", fps_arg(self.fps)]
        if audio_path is not None:
            cmd += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "192k"]
            # with a known duration the audio input is cut by -t; -shortest would stop reading frames
            # the moment a slightly shorter audio ends and drop the last video frame
            cmd += [] if duration else ["-shortest"]
        return cmd + ["-movflags", "+faststart", "-f", "mp4", str(self.temp_path)]

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR uint8 frame of exactly height x width."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match {self.height}x{self.width}x3 uint8")
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, OSError) as exc:
            self._proc.wait()
            message = self._tail.join()
            self.abort()
            raise EngineFailure(f"The video encoder stopped unexpectedly: {message or exc}") from exc
        self.frames_written += 1

    def finish(self) -> Path:
        """Close the stream and wait for ffmpeg; returns the (still temporary) encoded file."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        message = self._tail.join()
        if rc != 0 or not self.temp_path.is_file():
            self.abort()
            raise EngineFailure(f"The video encoder failed: {message or f'exit code {rc}'}")
        self._finished = True
        return self.temp_path

    def commit(self) -> Path:
        """Atomically move the finished file onto the target name."""
        if not self._finished:
            self.finish()
        os.replace(self.temp_path, self.out_path)
        self._committed = True
        return self.out_path

    def close(self) -> Path:
        """finish() then commit()."""
        self.finish()
        return self.commit()

    def abort(self) -> None:
        """Kill ffmpeg and delete the temp file; safe to call more than once."""
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            if self._proc.stdin:
                self._proc.stdin.close()
        except OSError:
            pass
        self._proc.wait()
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._committed:
            self.close()
