"""FrameReader / SourceFrames / FrameWriter on real files: geometry, rate, rotation, spooling, atomic output."""

import os

import numpy as np
import pytest

from synthesis.errors import EngineFailure
from synthesis.probe import probe_media
from synthesis.timeline import source_indices
from synthesis.video_io import FrameReader, FrameWriter, SourceFrames, fps_arg


def read_all(path):
    return list(FrameReader(path, probe_media(path)))


def test_reader_gives_upright_bgr_frames(presenter_clip):
    frames = read_all(presenter_clip)
    assert len(frames) == 100
    assert frames[0].shape == (480, 640, 3) and frames[0].dtype == np.uint8 and frames[0].flags.writeable


def test_reader_applies_rotation(presenter_clip, rotated_clip):
    info = probe_media(rotated_clip)
    upright = read_all(rotated_clip)
    assert upright[0].shape == (640, 480, 3)
    plain = read_all(presenter_clip)[0]
    # clockwise rotation r == numpy rot90 (counter-clockwise) by (360 - r) / 90 quarter turns
    expected = np.rot90(plain, k=(360 - info.rotation) // 90)
    assert np.abs(expected.astype(int) - upright[0]).mean() < 1.0


def test_reader_keeps_other_rates(presenter_clip_30fps):
    assert len(read_all(presenter_clip_30fps)) == 90


def test_variable_frame_timing_becomes_a_regular_count(vfr_clip):
    info = probe_media(vfr_clip)
    frames = read_all(vfr_clip)
    assert abs(len(frames) - info.duration * info.fps) <= 2


def test_still_image_is_one_frame(presenter_photo):
    frames = read_all(presenter_photo)
    assert len(frames) == 1 and frames[0].shape == (480, 640, 3)


def test_source_frames_pingpong_spools_only_revisited_frames(presenter_clip):
    info = probe_media(presenter_clip)
    direct = read_all(presenter_clip)
    idx = source_indices(130, 100)  # 0..99 then 98..69
    source = SourceFrames(FrameReader(presenter_clip, info), idx)
    spool_dir = source._tmpdir
    assert source.spooled_frames == 30 and os.path.isdir(spool_dir)
    served = list(source)
    source.close()
    assert not os.path.exists(spool_dir)
    assert len(served) == 130
    for out_i in (0, 50, 99, 100, 129):
        np.testing.assert_array_equal(served[out_i], direct[idx[out_i]])


def test_source_frames_cut_streams_without_spool(presenter_clip):
    with SourceFrames(FrameReader(presenter_clip, probe_media(presenter_clip)), source_indices(40, 100)) as source:
        assert source.spooled_frames == 0
        assert len(list(source)) == 40


def test_source_frames_past_the_real_end_repeat_the_last_frame(presenter_clip):
    idx = np.arange(103)  # the probe said 100 frames; pretend it said 103
    with SourceFrames(FrameReader(presenter_clip, probe_media(presenter_clip)), idx) as source:
        frames = list(source)
    np.testing.assert_array_equal(frames[-1], frames[99])


def test_still_photo_served_for_every_index(presenter_photo):
    with SourceFrames(FrameReader(presenter_photo, probe_media(presenter_photo)), np.zeros(5, np.int64)) as src:
        frames = list(src)
    assert len(frames) == 5 and frames[0] is not frames[1]


def test_writer_roundtrip(presenter_clip, speech_wav, tmp_out):
    frames = read_all(presenter_clip)
    out = tmp_out / "roundtrip.mp4"
    with FrameWriter(out, 640, 480, 25.0, audio_path=speech_wav, duration=len(frames) / 25) as writer:
        for frame in frames:
            writer.write(frame)
    assert os.listdir(tmp_out) == ["roundtrip.mp4"]
    info = probe_media(out, verify_decode=True)
    assert (info.width, info.height, info.fps, info.n_frames) == (640, 480, 25.0, 100)
    assert info.audio_codec == "aac" and info.duration == pytest.approx(4.0, abs=0.05)
    again = read_all(out)
    assert np.abs(again[50].astype(int) - frames[50]).mean() < 3  # crf 20: visually the same


def test_writer_keeps_ntsc_rate(tmp_out):
    assert fps_arg(30000 / 1001) == "30000/1001"
    out = tmp_out / "ntsc.mp4"
    with FrameWriter(out, 64, 48, 30000 / 1001) as writer:
        for _ in range(30):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    assert probe_media(out).fps == pytest.approx(29.97, abs=0.01)


def test_odd_size_is_padded_by_one_pixel(tmp_out):
    out = tmp_out / "odd.mp4"
    with FrameWriter(out, 321, 241, 25.0) as writer:
        assert writer.encoded_size == (322, 242)
        for _ in range(10):
            writer.write(np.full((241, 321, 3), 200, np.uint8))
    info = probe_media(out)
    assert (info.width, info.height) == (322, 242)
    frame = read_all(out)[0]
    assert abs(int(frame[-1, -1, 0]) - 200) < 8  # the extra row/column repeats the edge, not black


def test_abort_and_exception_leave_nothing(tmp_out):
    writer = FrameWriter(tmp_out / "a.mp4", 64, 48, 25.0)
    writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.abort()
    with pytest.raises(RuntimeError), FrameWriter(tmp_out / "b.mp4", 64, 48, 25.0) as w:
        w.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("boom")
    assert os.listdir(tmp_out) == []


def test_wrong_frame_size_is_refused(tmp_out):
    writer = FrameWriter(tmp_out / "c.mp4", 64, 48, 25.0)
    with pytest.raises(ValueError):
        writer.write(np.zeros((10, 10, 3), np.uint8))
    writer.abort()


def test_encoder_failure_is_an_engine_failure(tmp_out):
    writer = FrameWriter(tmp_out / "d.mp4", 64, 48, 25.0, crf=20, preset="no-such-preset")
    with pytest.raises(EngineFailure):
        for _ in range(200):
            writer.write(np.zeros((48, 64, 3), np.uint8))
        writer.close()
    assert os.listdir(tmp_out) == []
