"""probe_media on real files: good inputs report display geometry; bad ones raise typed, readable errors."""

import wave

import pytest

from synthesis.errors import InputError, NoAudioStream, NoVideoStream, OverLimit, UndecodableMedia, ZeroDuration
from synthesis.probe import MediaLimits, probe_media, require_audio, require_video

UNREADABLE = "This file could not be read as audio or video"


def test_presenter_clip(presenter_clip):
    info = probe_media(presenter_clip, verify_decode=True)
    assert (info.width, info.height, info.rotation) == (640, 480, 0)
    assert info.fps == pytest.approx(25.0) and info.n_frames == 100
    assert info.duration == pytest.approx(4.0, abs=0.05)
    assert info.has_video and info.has_audio and info.video_codec == "h264" and info.audio_codec == "aac"
    assert not info.is_still_image
    assert require_audio(require_video(info)) is info


def test_30fps_clip_without_audio(presenter_clip_30fps):
    info = probe_media(presenter_clip_30fps)
    assert info.fps == pytest.approx(30.0) and info.n_frames == 90 and not info.has_audio
    with pytest.raises(NoAudioStream, match="no sound track"):
        require_audio(info)


def test_rotation_gives_display_size(rotated_clip):
    info = probe_media(rotated_clip)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (480, 640)


def test_still_photo(presenter_photo):
    info = probe_media(presenter_photo)
    assert info.is_still_image and info.n_frames == 1 and (info.width, info.height) == (640, 480)
    assert not info.has_audio


def test_audio_only_has_no_video(audio_only_m4a):
    info = probe_media(audio_only_m4a)
    assert info.has_audio and not info.has_video and info.audio_sample_rate == 16000
    with pytest.raises(NoVideoStream, match="no video picture"):
        require_video(info)


def test_variable_frame_timing_gets_a_rate(vfr_clip):
    info = probe_media(vfr_clip)
    assert 20 < info.fps < 40 and info.n_frames > 0


@pytest.mark.parametrize("fixture", ["corrupt_mp4", "truncated_mp4", "empty_file"])
def test_unreadable_files(fixture, request):
    path = request.getfixturevalue(fixture)
    with pytest.raises(UndecodableMedia) as err:
        probe_media(path)
    assert str(err.value).startswith(UNREADABLE) and path.name in str(err.value)
    assert isinstance(err.value, InputError) and err.value.code == "undecodable"


def test_missing_file(tmp_path):
    with pytest.raises(UndecodableMedia, match="does not exist"):
        probe_media(tmp_path / "nope.mp4")


def test_truncated_media_is_caught_by_the_decode_check(truncated_faststart_mp4):
    probe_media(truncated_faststart_mp4)  # the headers alone look fine
    with pytest.raises(UndecodableMedia, match="damaged or incomplete"):
        probe_media(truncated_faststart_mp4, verify_decode=True)


def test_zero_duration(tmp_path):
    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    with pytest.raises(ZeroDuration, match="0 seconds"):
        probe_media(path)


def test_limits(presenter_clip):
    with pytest.raises(OverLimit, match="limit is"):
        probe_media(presenter_clip, MediaLimits(max_duration_s=2))
    with pytest.raises(OverLimit, match="640x480"):
        probe_media(presenter_clip, MediaLimits(max_width=320, max_height=240))
