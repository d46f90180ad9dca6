"""Typed engine errors.

Input errors are the user's to fix (a corrupt file, a missing face) and must never be retried;
infrastructure errors (ffmpeg crashed, out of memory) may be retried by the caller. Every message
is written for a person, not a developer.
"""


class SynthesisError(Exception):
    """Base of every error the engine raises on purpose."""

    #: stable machine-readable code, used by the portal and the API
    code = "synthesis_error"


class InputError(SynthesisError):
    """The input media cannot be used; retrying will not help."""

    code = "invalid_input"


class NoVideoStream(InputError):
    code = "no_video_stream"


class NoAudioStream(InputError):
    code = "no_audio_stream"


class UndecodableMedia(InputError):
    code = "undecodable"


class ZeroDuration(InputError):
    code = "zero_duration"


class OverLimit(InputError):
    code = "over_limit"


class NoFaceFound(InputError):
    code = "no_face"


class ModelWeightsMissing(SynthesisError):
    """A backend needs a weights file the operator has not supplied."""

    code = "weights_missing"


class Canceled(SynthesisError):
    code = "canceled"


class EngineFailure(SynthesisError):
    """Something broke that is not the input's fault (encoder crash, disk full); may be retried."""

    code = "engine_failure"
