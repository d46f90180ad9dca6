"""Command line: generate lip-synced videos, precompute face tracks, speak text.

Errors the user can fix print as one plain line (exit code 2); engine failures exit with 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synthesis.errors import Canceled, InputError, SynthesisError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m synthesis", description="Audio-driven lip-sync engine.")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="make each presenter video say the audio")
    gen.add_argument("--audio", required=True, help="driving audio (any format ffmpeg reads)")
    gen.add_argument("--video", required=True, action="append", help="presenter video or photo (repeatable)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--track", action="append", help="precomputed face track .npz per --video, in order")
    gen.add_argument("--backend", default="warp", choices=["warp", "wav2lip"])
    gen.add_argument("--device", default="cpu", help="cpu or cuda")
    gen.add_argument("--checkpoint", help="Wav2Lip weights (default: $WAV2LIP_CHECKPOINT)")
    gen.add_argument("--crf", type=int, default=20)
    gen.add_argument("--preset", default="veryfast")
    gen.add_argument("--encoder", default="libx264", choices=["libx264", "h264_nvenc"])
    gen.add_argument("--length-mode", default="pingpong", choices=["pingpong", "loop"])
    gen.add_argument("--preview-seconds", type=float, help="render only the first S seconds")
    gen.add_argument("--cache-dir", help="audio analysis cache folder")
    gen.add_argument("--no-quality", action="store_true", help="skip the quality report")

    ana = sub.add_parser("analyse", help="precompute a presenter's face track")
    ana.add_argument("--video", required=True)
    ana.add_argument("--out", required=True, help="track .npz")

    tts = sub.add_parser("tts", help="speak text into a WAV file (offline)")
    tts.add_argument("--text", required=True)
    tts.add_argument("--language", default="en", help="espeak-ng language, e.g. en, cmn, ja")
    tts.add_argument("--variant", help="espeak-ng voice variant, e.g. f2")
    tts.add_argument("--rate", type=int, default=150, help="words per minute")
    tts.add_argument("--out", required=True)
    return parser


def _output_paths(videos: list[str], out_dir: Path) -> list[Path]:
    """out_dir/<video name>.mp4, numbered when two inputs share a name."""
    paths, seen = [], set()
    for video in videos:
        stem, candidate, n = Path(video).stem, None, 1
        while candidate is None or candidate in seen:
            candidate = out_dir / (f"{stem}.mp4" if n == 1 else f"{stem}-{n}.mp4")
            n += 1
        seen.add(candidate)
        paths.append(candidate)
    return paths


def _generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from synthesis.audio import analyse_audio
    from synthesis.backends import get_backend
    from synthesis.pipeline import SynthesisOptions, generate

    if args.track and len(args.track) != len(args.video):
        raise InputError("Give one --track per --video, in the same order.")
    opts = SynthesisOptions(
        backend=args.backend, device=args.device, checkpoint=args.checkpoint, crf=args.crf, preset=args.preset,
        encoder=args.encoder, length_mode=args.length_mode, max_seconds=args.preview_seconds,
        cache_dir=args.cache_dir, quality_report=not args.no_quality,
    )  # fmt: skip
    audio = analyse_audio(args.audio, cache_dir=args.cache_dir)  # once for every video
    backend = get_backend(args.backend, device=args.device, checkpoint=args.checkpoint)  # model loaded once
    tracks = [None] * len(args.video)
    if args.track:
        from synthesis.facetrack import FaceTrack

        tracks = [FaceTrack.load(t) for t in args.track]
    out_dir = Path(args.out)
    for video, out_path, track in zip(args.video, _output_paths(args.video, out_dir), tracks, strict=True):
        with tqdm(
            total=1000, desc=Path(video).name, unit="‰", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}"
        ) as bar:

            def progress(p, bar=bar):
                bar.n = int(p.fraction * 1000)
                bar.set_postfix_str(f"{p.stage} {p.frames_done}/{p.frames_total}", refresh=True)

            result = generate(audio, video, out_path, opts, backend=backend, track=track, progress=progress)
        print(f"{result.output_path}: {result.frames} frames, {result.duration:.2f} s, "
              f"face in {result.face_coverage:.0%} of frames, {result.timings['total']:.1f} s")  # fmt: skip
        for warning in result.warnings:
            print(f"  warning: {warning}")
    return 0


def _analyse(args: argparse.Namespace) -> int:
    from synthesis.facetrack import analyse_video

    track = analyse_video(args.video)
    track.save(args.out)
    print(f"{args.out}: {track.n_frames} frames, face detected in {track.coverage:.0%}")
    return 0


def _tts(args: argparse.Namespace) -> int:
    from synthesis.tts import get_tts

    out = get_tts("espeak", variant=args.variant, rate_wpm=args.rate).synthesize(args.text, args.out, args.language)
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    handler = {"generate": _generate, "analyse": _analyse, "tts": _tts}[args.command]
    try:
        return handler(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Canceled, KeyboardInterrupt):
        print("canceled", file=sys.stderr)
        return 130
    except SynthesisError as exc:
        print(f"engine failure: {exc}", file=sys.stderr)
        return 1
