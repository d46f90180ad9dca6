"""Offline text-to-speech through espeak-ng: real audio in the requested languages, clear errors."""

import pytest

from synthesis.errors import InputError
from synthesis.probe import probe_media
from synthesis.tts import EspeakTTS, get_tts


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Hello and welcome."), ("cmn", "你好，欢迎。"), ("ja", "こんにちは、ようこそ。")],
)
def test_speaks_languages(language, text, tmp_path):
    out = get_tts("espeak").synthesize(text, tmp_path / f"{language}.wav", language=language)
    info = probe_media(out)
    assert info.has_audio and not info.has_video and info.duration > 0.5 and info.audio_channels == 1
    assert [p.name for p in tmp_path.iterdir()] == [f"{language}.wav"]


def test_variant_and_rate(tmp_path):
    slow = EspeakTTS(rate_wpm=100).synthesize("One two three four five six.", tmp_path / "slow.wav")
    fast = EspeakTTS(rate_wpm=300, variant="f2").synthesize("One two three four five six.", tmp_path / "fast.wav")
    assert probe_media(slow).duration > 1.5 * probe_media(fast).duration


def test_languages_listed():
    assert {"en", "cmn", "ja"} <= get_tts().languages()


def test_unknown_language_and_engine(tmp_path):
    with pytest.raises(InputError, match="not available"):
        get_tts().synthesize("hello", tmp_path / "x.wav", language="klingon")
    with pytest.raises(InputError, match="Unknown text-to-speech"):
        get_tts("festival")
    with pytest.raises(InputError, match="no text"):
        get_tts().synthesize("   ", tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []
