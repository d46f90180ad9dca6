"""Engine throughput against the ffmpeg floor, and peak memory on a long input.

    .venv/bin/python bench/bench_engine.py                 # 20 s 720p25: floor, decode, engine (warp)
    .venv/bin/python bench/bench_engine.py --long          # + peak RSS of generate on a 10-minute 720p input

The floor is a plain `ffmpeg -i clip -c:v libx264 -preset veryfast -crf 20 -c:a aac` of the same clip:
the engine decodes, renders and encodes the same frames with the same codec settings, so
engine/floor is the cost of everything the engine adds. Not a test: figures go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from synthesis import samples  # noqa: E402


def _ffmpeg(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)
    return time.perf_counter() - t0


def make_inputs(work: Path, seconds: float, width: int, height: int) -> tuple[Path, Path]:
    clip = samples.make_presenter_clip(work / "clip.mp4", seconds=seconds, width=width, height=height)
    speech = samples.make_speech(work / "speech_once.wav")
    audio = work / "speech.wav"
    _ffmpeg("-stream_loop", "-1", "-i", str(speech), "-t", f"{seconds}", str(audio))
    return clip, audio


def loop_inputs(work: Path, clip: Path, audio: Path, track_path: Path, seconds: float) -> tuple[Path, Path, Path]:
    """A long input made by looping the short clip (stream copy) and its tiled face track."""
    from synthesis.facetrack import FaceTrack

    long_clip, long_audio, long_track = work / "long.mp4", work / "long.wav", work / "long_track.npz"
    _ffmpeg("-stream_loop", "-1", "-i", str(clip), "-t", f"{seconds}", "-c", "copy", str(long_clip))
    _ffmpeg("-stream_loop", "-1", "-i", str(audio), "-t", f"{seconds}", str(long_audio))
    from synthesis.probe import probe_media

    n = probe_media(long_clip).n_frames
    track = FaceTrack.load(track_path)
    reps = -(-n // track.n_frames)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a] * reps)[:n]

    FaceTrack(video_hash="", width=track.width, height=track.height, fps=track.fps, n_frames=n,
              present=tile(track.present), detected=tile(track.detected), boxes=tile(track.boxes),
              landmarks=tile(track.landmarks)).save(long_track)  # fmt: skip
    return long_clip, long_audio, long_track


def measure_floor(clip: Path, work: Path) -> float:
    out = work / "floor.mp4"
    return _ffmpeg("-i", str(clip), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", str(out))


def measure_decode(clip: Path) -> tuple[float, float, int]:
    """(ffmpeg decode to bgr24 seconds, engine FrameReader seconds, frames)."""
    from synthesis.probe import probe_media
    from synthesis.video_io import FrameReader

    t_ffmpeg = _ffmpeg("-i", str(clip), "-an", "-f", "rawvideo", "-pix_fmt", "bgr24", "-f", "null", "-")
    t0 = time.perf_counter()
    frames = sum(1 for _ in FrameReader(clip, probe_media(clip)))
    return t_ffmpeg, time.perf_counter() - t0, frames


def run_engine(audio: Path, clip: Path, track_path: Path, out: Path) -> dict:
    from synthesis.audio import analyse_audio
    from synthesis.backends import get_backend
    from synthesis.facetrack import FaceTrack
    from synthesis.pipeline import SynthesisOptions, generate

    analysis = analyse_audio(audio)  # a batch analyses its audio once; timed separately below
    track = FaceTrack.load(track_path)
    backend = get_backend("warp")
    t0 = time.perf_counter()
    result = generate(analysis, clip, out, SynthesisOptions(quality_report=False), backend=backend, track=track)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "frames": result.frames, "timings": result.timings}


class _ChildPeak(threading.Thread):
    """Largest VmHWM among this process's ffmpeg children, polled from /proc.

    getrusage(RUSAGE_CHILDREN) cannot be used: a forked child inherits the parent's peak before exec,
    so it would report this Python process's size as ffmpeg's."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.stop.wait(0.2):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kb = max(self.peak_kb, int(fields["VmHWM"].split()[0]))


def child_main(args: argparse.Namespace) -> None:
    """Runs one generate in this (child) process and prints its figures as JSON."""
    watcher = _ChildPeak()
    watcher.start()
    data = run_engine(Path(args.audio), Path(args.video), Path(args.track), Path(args.out))
    watcher.stop.set()
    data["rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the largest ffmpeg subprocess (decoder or encoder); they run at the same time as this process
    data["rss_largest_ffmpeg_mb"] = watcher.peak_kb / 1024
    print(json.dumps(data))


def measure_child(audio: Path, clip: Path, track: Path, out: Path) -> dict:
    """generate in a fresh child process, which reports its own peak RSS and its ffmpeg's."""
    cmd = [sys.executable, __file__, "--child", "--audio", str(audio), "--video", str(clip), "--track", str(track),
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["peak_rss_mb"] = data["rss_self_mb"] + data["rss_largest_ffmpeg_mb"]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--long", action="store_true", help="also measure peak RSS on a long input")
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument("--results", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--track", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)

    from synthesis.audio import analyse_audio
    from synthesis.facetrack import analyse_video

    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        work = Path(tmp)
        clip, audio = make_inputs(work, args.seconds, args.width, args.height)
        t0 = time.perf_counter()
        track = analyse_video(clip)
        face_s = time.perf_counter() - t0
        track_path = work / "track.npz"
        track.save(track_path)
        t0 = time.perf_counter()
        analyse_audio(audio)
        audio_s = time.perf_counter() - t0

        floor_s = measure_floor(clip, work)
        ffdecode_s, reader_s, n = measure_decode(clip)
        engine = run_engine(audio, clip, track_path, work / "engine.mp4")
        t = engine["timings"]
        stages = {
            "face track (once per presenter)": n / face_s,
            "ffmpeg decode only": n / ffdecode_s,
            "FrameReader decode": n / reader_s,
            "render (warp, busy)": engine["frames"] / max(t["render"], 1e-9),
            "encode (writer busy)": engine["frames"] / max(t["encode"], 1e-9),
            "floor: ffmpeg decode+encode": n / floor_s,
            "engine end to end (cached track)": engine["frames"] / engine["wall_s"],
        }
        report = {
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
            "clip": {"seconds": args.seconds, "width": args.width, "height": args.height, "frames": n},
            "audio_analysis_s": audio_s,
            "fps": stages,
            "engine_wall_s": engine["wall_s"],
            "floor_wall_s": floor_s,
            "engine_over_floor": engine["wall_s"] / floor_s,
            "engine_timings_s": t,
        }
        if args.long:
            report["memory"] = {
                "short": measure_child(audio, clip, track_path, work / "short.mp4"),
            }
            long_clip, long_audio, long_track = loop_inputs(work, clip, audio, track_path, args.long_seconds)
            report["memory"]["long"] = measure_child(long_audio, long_clip, long_track, work / "long_out.mp4")
            report["memory"]["long_seconds"] = args.long_seconds

    print(f"\n{args.width}x{args.height} @ 25 fps, {n} frames ({args.seconds:g} s)")
    print(f"{'stage':40s} {'fps':>9s}")
    for name, fps in stages.items():
        print(f"{name:40s} {fps:9.1f}")
    print(f"engine wall {engine['wall_s']:.2f} s, floor {floor_s:.2f} s, ratio {report['engine_over_floor']:.2f}x")
    if "memory" in report:
        for key in ("short", "long"):
            m = report["memory"][key]
            print(
                f"peak RSS {key}: python {m['rss_self_mb']:.0f} MB + largest ffmpeg "
                f"{m['rss_largest_ffmpeg_mb']:.0f} MB ({m['frames']} frames, {m['wall_s']:.1f} s)"
            )
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
