"""Which source frame each output frame shows, so output length always equals audio length.

Audio longer than the video bounces (forward, then backward) instead of jump-cutting to frame 0;
the turnaround frame is shown once, so there is no visible freeze either.
"""

from __future__ import annotations

import numpy as np

MODES = ("pingpong", "loop")


def source_indices(n_out: int, n_src: int, mode: str = "pingpong") -> np.ndarray:
    """Source frame number for each of n_out output frames (int64).

    n_out <= n_src: a plain cut (0..n_out-1). Longer: 'pingpong' goes 0..n-1, n-2..1, 0.. and
    'loop' wraps to 0. A single source frame (a still photo) maps everything to 0.
    """
    if mode not in MODES:
        raise ValueError(f"unknown length mode {mode!r}; choose one of {', '.join(MODES)}")
    if n_out < 0 or n_src < 1:
        raise ValueError("need n_out >= 0 and at least one source frame")
    out = np.arange(n_out, dtype=np.int64)
    if n_out <= n_src:
        return out
    if n_src == 1:
        return np.zeros(n_out, dtype=np.int64)
    if mode == "loop":
        return out % n_src
    period = 2 * (n_src - 1)
    phase = out % period
    return np.where(phase < n_src, phase, period - phase)


def needs_revisit(src_index: np.ndarray) -> bool:
    """True when some source frame is needed again after a later one (frames must be kept)."""
    return bool(src_index.size > 1 and np.any(np.diff(src_index) <= 0))
