"""The lip-sync engine: `generate()` makes a presenter video say a driving audio.

The public names are resolved on first use (PEP 562), so `import synthesis` stays light: no torch,
mediapipe or librosa until a caller actually needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from synthesis import errors

if TYPE_CHECKING:
    from synthesis.audio import AudioAnalysis, analyse_audio
    from synthesis.pipeline import Progress, SynthesisOptions, SynthesisResult, generate
    from synthesis.probe import MediaInfo, MediaLimits, probe_media

_LAZY = {
    "generate": "synthesis.pipeline",
    "SynthesisOptions": "synthesis.pipeline",
    "SynthesisResult": "synthesis.pipeline",
    "Progress": "synthesis.pipeline",
    "analyse_audio": "synthesis.audio",
    "AudioAnalysis": "synthesis.audio",
    "probe_media": "synthesis.probe",
    "MediaInfo": "synthesis.probe",
    "MediaLimits": "synthesis.probe",
}

__all__ = [
    "AudioAnalysis",
    "MediaInfo",
    "MediaLimits",
    "Progress",
    "SynthesisOptions",
    "SynthesisResult",
    "analyse_audio",
    "errors",
    "generate",
    "probe_media",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'synthesis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
