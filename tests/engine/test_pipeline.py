"""generate() end to end with real decoding and encoding and a pass-through backend defined here."""

import os
import threading

import numpy as np
import pytest

import synthesis.facetrack as facetrack
from synthesis.audio import analyse_audio
from synthesis.backends import get_backend
from synthesis.backends.base import MouthBackend
from synthesis.errors import Canceled, InputError
from synthesis.facetrack import FaceTrack
from synthesis.pipeline import SynthesisOptions, generate
from synthesis.probe import probe_media
from synthesis.video_io import FrameReader

NO_REPORT = SynthesisOptions(quality_report=False)


class PassThrough(MouthBackend):
    """Returns every frame unchanged: isolates the pipeline from any mouth model."""

    name = "pass"
    batch_size = 8

    def __init__(self):
        self.begun = self.rendered = 0

    def begin(self, audio, track, fps, n_out):
        self.begun += 1
        self.n_out = n_out

    def render(self, batch):
        self.rendered += len(batch.frames)
        assert len(batch.frames) == len(batch.out_index) == len(batch.src_index)
        return batch.frames


def full_track(n: int, width: int = 640, height: int = 480, fps: float = 25.0) -> FaceTrack:
    """A stand-in track saying 'a face everywhere' (no detection needed)."""
    return FaceTrack(
        video_hash="", width=width, height=height, fps=fps, n_frames=n,
        present=np.ones(n, bool), detected=np.ones(n, bool),
        boxes=np.tile(np.float32([200, 100, 440, 380]), (n, 1)), landmarks=np.zeros((n, 478, 2), np.float32),
    )  # fmt: skip


def frames_of(path):
    return list(FrameReader(path, probe_media(path)))


def test_end_to_end_valid_mp4(speech_wav, presenter_clip, tmp_out):
    backend = PassThrough()
    events = []
    out = tmp_out / "result.mp4"
    result = generate(speech_wav, presenter_clip, out, NO_REPORT, backend=backend, track=full_track(100),
                      progress=events.append)  # fmt: skip
    info = probe_media(out, verify_decode=True)
    audio = probe_media(speech_wav)
    assert (info.width, info.height) == (640, 480) and info.fps == pytest.approx(25.0)
    assert abs(info.duration - audio.duration) <= 1 / 25 + 1e-3
    assert info.audio_codec == "aac" and info.video_codec == "h264"
    assert result.frames == backend.rendered == info.n_frames and backend.begun == 1
    assert result.output_path == str(out) and result.face_coverage == 1.0
    assert {"audio", "render", "decode", "encode", "total"} <= set(result.timings)
    assert [e.stage for e in events][0] == "audio" and events[-1].fraction == pytest.approx(1.0)
    assert all(b.fraction >= a.fraction for a, b in zip(events, events[1:], strict=False))
    assert os.listdir(tmp_out) == ["result.mp4"]


def test_audio_longer_than_video_pingpongs(speech_wav, presenter_clip, tmp_out):
    out = tmp_out / "pp.mp4"
    result = generate(speech_wav, presenter_clip, out, NO_REPORT, backend=PassThrough(), track=full_track(100))
    assert result.frames > 100
    source, output = frames_of(presenter_clip), frames_of(out)
    assert len(output) == result.frames
    for out_i, src_i in ((100, 98), (110, 88), (129, 69)):
        diff = np.abs(output[out_i].astype(int) - source[src_i]).mean()
        wrong = np.abs(output[out_i].astype(int) - source[out_i % 100]).mean()
        assert diff < 3 and diff < wrong
    steps = [np.abs(a.astype(int) - b).mean() for a, b in zip(output, output[1:], strict=False)]
    assert max(steps) < 4 * np.median(steps) + 1  # no jump cut anywhere
    assert any("forward and backward" in w for w in result.warnings)


def test_loop_mode(speech_wav, presenter_clip, tmp_out):
    opts = SynthesisOptions(quality_report=False, length_mode="loop")
    result = generate(speech_wav, presenter_clip, tmp_out / "loop.mp4", opts, backend=PassThrough(),
                      track=full_track(100))  # fmt: skip
    assert any("loops" in w for w in result.warnings)


def test_shorter_audio_cuts_and_preview(speech_wav, presenter_clip, tmp_out):
    opts = SynthesisOptions(quality_report=False, max_seconds=2.0)
    result = generate(speech_wav, presenter_clip, tmp_out / "preview.mp4", opts, backend=PassThrough(),
                      track=full_track(100))  # fmt: skip
    info = probe_media(tmp_out / "preview.mp4")
    assert result.frames == 50 == info.n_frames
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_cancel_leaves_no_file(speech_wav, presenter_clip, tmp_out):
    cancel = threading.Event()

    def progress(p):
        if p.stage == "render" and p.frames_done >= 16:
            cancel.set()

    with pytest.raises(Canceled):
        generate(speech_wav, presenter_clip, tmp_out / "c.mp4", NO_REPORT, backend=PassThrough(),
                 track=full_track(100), progress=progress, cancel=cancel)  # fmt: skip
    assert os.listdir(tmp_out) == []


def test_cancel_callable_before_start(speech_wav, presenter_clip, tmp_out):
    with pytest.raises(Canceled):
        generate(speech_wav, presenter_clip, tmp_out / "c.mp4", NO_REPORT, backend=PassThrough(),
                 track=full_track(100), cancel=lambda: True)  # fmt: skip
    assert os.listdir(tmp_out) == []


def test_backend_error_leaves_no_file(speech_wav, presenter_clip, tmp_out):
    class Broken(PassThrough):
        def render(self, batch):
            if batch.out_index[0] >= 16:
                raise RuntimeError("model exploded")
            return batch.frames

    with pytest.raises(RuntimeError, match="exploded"):
        generate(speech_wav, presenter_clip, tmp_out / "e.mp4", NO_REPORT, backend=Broken(), track=full_track(100))
    assert os.listdir(tmp_out) == []


def test_two_runs_in_parallel(speech_wav, presenter_clip, presenter_clip_30fps, tmp_out):
    audio = analyse_audio(speech_wav)  # one analysis shared by both videos
    results, errors = {}, []

    def run(name, video, track):
        try:
            results[name] = generate(audio, video, tmp_out / f"{name}.mp4", NO_REPORT, backend=PassThrough(),
                                     track=track)  # fmt: skip
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("a", presenter_clip, full_track(100))),
        threading.Thread(target=run, args=("b", presenter_clip_30fps, full_track(90, fps=30.0))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(os.listdir(tmp_out)) == ["a.mp4", "b.mp4"]
    assert probe_media(tmp_out / "b.mp4").fps == pytest.approx(30.0)
    assert results["a"].duration == pytest.approx(audio.duration, abs=0.04)


def test_precomputed_track_skips_detection(speech_wav, presenter_clip, tmp_out, monkeypatch):
    calls = []
    real = facetrack.analyse_video

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(facetrack, "analyse_video", counting)
    opts = SynthesisOptions(quality_report=False, max_seconds=1.0)
    generate(speech_wav, presenter_clip, tmp_out / "t.mp4", opts, backend=PassThrough(), track=full_track(100))
    assert calls == []
    result = generate(speech_wav, presenter_clip, tmp_out / "d.mp4", opts, backend=PassThrough())
    assert len(calls) == 1 and result.face_coverage > 0.9


def test_black_frames_pass_through(speech_wav, black_frames_clip, tmp_out):
    track = full_track(100)
    track.present[20:30] = track.detected[20:30] = False
    result = generate(speech_wav, black_frames_clip, tmp_out / "black.mp4", NO_REPORT, backend=PassThrough(),
                      track=track)  # fmt: skip
    output = frames_of(tmp_out / "black.mp4")
    assert all(output[i].mean() < 8 for i in range(20, 30)) and output[35].mean() > 40
    assert result.face_coverage < 1.0 and any("No face was found in" in w for w in result.warnings)


def test_still_photo_and_rotated_inputs(speech_wav, presenter_photo, rotated_clip, tmp_out):
    opts = SynthesisOptions(quality_report=False, max_seconds=1.0)
    photo = generate(speech_wav, presenter_photo, tmp_out / "photo.mp4", opts, backend=PassThrough(),
                     track=full_track(1))  # fmt: skip
    assert (photo.width, photo.height, photo.frames) == (640, 480, 25)
    generate(speech_wav, rotated_clip, tmp_out / "rot.mp4", opts, backend=PassThrough(),
             track=full_track(100, width=480, height=640))  # fmt: skip
    info = probe_media(tmp_out / "rot.mp4")
    assert (info.width, info.height, info.rotation) == (480, 640, 0)


def test_mismatched_track_is_refused(speech_wav, presenter_clip, tmp_out):
    with pytest.raises(InputError, match="face track"):
        generate(speech_wav, presenter_clip, tmp_out / "m.mp4", NO_REPORT, backend=PassThrough(),
                 track=full_track(100, width=320, height=240))  # fmt: skip
    assert os.listdir(tmp_out) == []


def test_unknown_backend_name():
    with pytest.raises(InputError, match="Unknown lip-sync backend"):
        get_backend("nope")


def test_video_without_picture_is_refused(speech_wav, audio_only_m4a, tmp_out):
    from synthesis.errors import NoVideoStream

    with pytest.raises(NoVideoStream):
        generate(speech_wav, audio_only_m4a, tmp_out / "x.mp4", NO_REPORT, backend=PassThrough())


def test_quality_report_written_beside_output(speech_wav, presenter_clip, tmp_out):
    pytest.importorskip("synthesis.quality")
    opts = SynthesisOptions(max_seconds=2.0)
    result = generate(speech_wav, presenter_clip, tmp_out / "q.mp4", opts, backend=PassThrough(),
                      track=full_track(100))  # fmt: skip
    assert result.report_path and os.path.isfile(result.report_path) and isinstance(result.quality, dict)
