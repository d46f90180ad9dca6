"""Offline text-to-speech behind a small protocol, so a better engine can replace espeak-ng later.

Speech must be made on the server without network access: espeak-ng is small, offline and speaks
many languages (Mandarin `cmn`, `en`, `ja`, ...). Its voice is robotic, but its timing is clean.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from synthesis.errors import EngineFailure, InputError


class TextToSpeech(Protocol):
    """Speaks text into a WAV file."""

    name: str

    def languages(self) -> set[str]: ...

    def synthesize(self, text: str, out_path: str | Path, language: str = "en") -> Path: ...


@lru_cache(maxsize=1)
def _espeak_languages() -> frozenset[str]:
    """Language codes espeak-ng accepts: the voices' own codes plus their aliases ('en', 'zh', ...)."""
    proc = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True)
    codes: set[str] = set()
    for line in proc.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            codes.add(parts[1])
        codes.update(re.findall(r"\(([\w-]+) \d+\)", line))
    return frozenset(codes)


class EspeakTTS:
    """espeak-ng (`-v LANGUAGE[+VARIANT] -s RATE`), resampled by ffmpeg to a plain 16-bit WAV."""

    name = "espeak"

    def __init__(self, variant: str | None = None, rate_wpm: int = 150, pitch: int | None = None,
                 sample_rate: int = 22050) -> None:  # fmt: skip
        if shutil.which("espeak-ng") is None:
            raise EngineFailure("Text-to-speech is not available: espeak-ng is not installed on this server.")
        if not 80 <= rate_wpm <= 450:
            raise InputError("The speaking rate must be between 80 and 450 words per minute.")
        self.variant, self.rate_wpm, self.pitch, self.sample_rate = variant, rate_wpm, pitch, sample_rate

    def languages(self) -> set[str]:
        return set(_espeak_languages())

    def synthesize(self, text: str, out_path: str | Path, language: str = "en") -> Path:
        """Write text spoken in language to out_path (WAV, mono); atomic like every engine output."""
        if not text.strip():
            raise InputError("There is no text to speak.")
        if language not in _espeak_languages():
            raise InputError(
                f"The language {language!r} is not available for text-to-speech "
                "(see `espeak-ng --voices`; e.g. en, en-us, cmn, ja)."
            )
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        raw = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex}.espeak.wav")
        tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex}.partial.wav")
        voice = f"{language}+{self.variant}" if self.variant else language
        cmd = ["espeak-ng", "-v", voice, "-s", str(self.rate_wpm), "-w", str(raw)]
        cmd += ["-p", str(self.pitch)] if self.pitch is not None else []
        try:
            proc = subprocess.run([*cmd, "--", text], capture_output=True, text=True)
            if proc.returncode != 0 or not raw.is_file():
                message = proc.stderr.strip() or f"exit code {proc.returncode}"
                raise InputError(f"Text-to-speech failed for voice {voice!r}: {message}")
            subprocess.run(
                ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(raw), "-ac", "1", "-ar", str(self.sample_rate),
                 "-c:a", "pcm_s16le", "-f", "wav", str(tmp)],
                check=True, capture_output=True,
            )  # fmt: skip
            tmp.replace(out_path)
        except subprocess.CalledProcessError as exc:
            raise EngineFailure(f"Converting the speech failed: {exc.stderr.decode(errors='replace')}") from exc
        finally:
            raw.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
        return out_path


_ENGINES = {"espeak": EspeakTTS}


def get_tts(name: str = "espeak", **options) -> TextToSpeech:
    """Build a text-to-speech engine by name."""
    if name not in _ENGINES:
        raise InputError(f"Unknown text-to-speech engine {name!r}; choose one of: {', '.join(_ENGINES)}.")
    return _ENGINES[name](**options)
