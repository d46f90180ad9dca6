"""Output->source frame mapping: cut, ping-pong without jumps or freezes, loop, still photo."""

import numpy as np
import pytest

from synthesis.timeline import needs_revisit, source_indices


def test_shorter_audio_is_a_plain_cut():
    assert source_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    assert not needs_revisit(source_indices(5, 10))


def test_pingpong_bounces_without_jump_or_freeze():
    idx = source_indices(50, 6, "pingpong")
    assert idx[:14].tolist() == [0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 3]
    steps = np.abs(np.diff(idx))
    assert steps.max() == 1 and steps.min() == 1  # never a jump, never a repeated (frozen) frame
    assert idx.min() == 0 and idx.max() == 5 and needs_revisit(idx)


@pytest.mark.parametrize("n_src", [2, 3, 100])
def test_pingpong_stays_in_range(n_src):
    idx = source_indices(1000, n_src)
    assert idx.dtype == np.int64 and len(idx) == 1000
    assert np.all(np.abs(np.diff(idx)) == 1)
    assert idx.min() == 0 and idx.max() == n_src - 1


def test_loop_wraps():
    assert source_indices(8, 3, "loop").tolist() == [0, 1, 2, 0, 1, 2, 0, 1]


def test_still_photo_maps_to_frame_zero():
    assert source_indices(7, 1).tolist() == [0] * 7
    assert source_indices(7, 1, "loop").tolist() == [0] * 7


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        source_indices(5, 3, "bounce")
    with pytest.raises(ValueError):
        source_indices(5, 0)
