"""The one small interface every mouth-generation backend implements.

The pipeline owns decoding, timing and encoding; a backend only turns a batch of source frames
into frames whose lower face says the audio. Frames without a face must come back untouched.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from synthesis.audio import AudioAnalysis
from synthesis.facetrack import FaceTrack


@dataclass
class FrameBatch:
    """A run of consecutive OUTPUT frames.

    frames: BGR uint8 arrays (H, W, 3), the source frames chosen by the timeline.
    out_index: output frame numbers; audio time of frame i is out_index[i] / fps.
    src_index: source frame numbers, i.e. rows of the FaceTrack to use for each frame.
    """

    frames: list[np.ndarray]
    out_index: np.ndarray
    src_index: np.ndarray


class MouthBackend(ABC):
    """Generates the mouth region for each frame of a batch."""

    name: str = "base"
    #: frames per render() call the pipeline should aim for
    batch_size: int = 16

    @abstractmethod
    def begin(self, audio: AudioAnalysis, track: FaceTrack, fps: float, n_out: int) -> None:
        """Prepare for one output video (per-frame audio features, reference crops...)."""

    @abstractmethod
    def render(self, batch: FrameBatch) -> list[np.ndarray]:
        """Return the edited frames, same order and shapes; faceless frames unchanged."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends keep no per-video state
        """Release per-video state; the backend object (and its model) is reused for the next video."""
