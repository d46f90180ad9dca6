"""Wav2LipBackend on the astronaut clip with a synthetic checkpoint: only the lower face may change.

The weights are random (no real checkpoint here), so the mouth it draws is noise; what is tested is the
plumbing around the network: crops, batching, faceless pass-through, and that the blend stays inside the
lower face.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from synthesis.audio import analyse_audio
from synthesis.backends.base import FrameBatch
from synthesis.backends.wav2lip import Wav2LipBackend, face_boxes, window_indices
from synthesis.errors import ModelWeightsMissing
from synthesis.facetrack import analyse_frames
from synthesis.models import wav2lip as w2l

N_FRAMES = 6
NOSE_BRIDGE = 6  # MediaPipe landmark between the eyes


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """Random tensors of the manifest's shapes, stored like the published files (module. prefix)."""
    keys = json.loads(Path(w2l.__file__).with_name("wav2lip_manifest.json").read_text())["keys"]
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in keys.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1)
        elif key.endswith("running_var") or ".conv_block.1.weight" in key:
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif len(shape) == 4:
            state[key] = torch.randn(shape, generator=g) * (2.0 / (shape[1] * shape[2] * shape[3])) ** 0.5
        else:
            state[key] = torch.randn(shape, generator=g) * 0.1
    state["output_block.1.weight"] *= 10  # outputs spread over [0, 1], so the mouth visibly changes
    path = tmp_path_factory.mktemp("w2l") / "wav2lip_synthetic.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    return path


@pytest.fixture(scope="module")
def clip_frames(presenter_clip) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(presenter_clip))
    frames = []
    while len(frames) < N_FRAMES:
        ok, frame = cap.read()
        assert ok, "could not decode the presenter clip"
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def track(clip_frames):
    t = analyse_frames(clip_frames, fps=25.0)
    assert t.present.all(), "the astronaut's face should be found in every frame"
    t.present[3] = False  # frame 3 counts as faceless: it must come back untouched
    return t


@pytest.fixture(scope="module")
def backend(checkpoint) -> Wav2LipBackend:
    return Wav2LipBackend(checkpoint=checkpoint, batch_size=4)


def test_missing_checkpoint_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("WAV2LIP_CHECKPOINT", raising=False)
    with pytest.raises(ModelWeightsMissing, match="WAV2LIP_CHECKPOINT"):
        Wav2LipBackend()
    monkeypatch.setenv("WAV2LIP_CHECKPOINT", str(tmp_path / "absent.pth"))
    with pytest.raises(ModelWeightsMissing, match="WAV2LIP_CHECKPOINT"):
        Wav2LipBackend()


def test_checkpoint_from_environment(monkeypatch, checkpoint):
    monkeypatch.setenv("WAV2LIP_CHECKPOINT", str(checkpoint))
    assert Wav2LipBackend().model is not None


def test_mel_windows_follow_training_offset():
    # 25 fps: window i starts at int(3.2 i) - 3 (one 40 ms frame earlier than the reference inference)
    idx = window_indices(400, 25.0, 10)
    assert idx.shape == (10, 16)
    assert list(idx[5, :3]) == [13, 14, 15]  # int(16) - 3
    assert list(idx[0, :5]) == [0, 0, 0, 0, 1]  # clamped at the start
    assert list(window_indices(400, 25.0, 10, offset_s=0.0)[5, :2]) == [16, 17]


def test_face_boxes_are_square_and_cover_the_mouth(track):
    boxes = face_boxes(track)
    sides = boxes[:, 2:] - boxes[:, :2]
    assert np.allclose(sides[:, 0], sides[:, 1], atol=0.5)
    mouth = track.landmarks[:, [13, 14, 61, 291]]
    assert (mouth[..., 0] > boxes[:, None, 0]).all() and (mouth[..., 0] < boxes[:, None, 2]).all()
    assert (mouth[..., 1] > boxes[:, None, 1] + sides[:, None, 1] / 2).all()  # mouth in the lower half
    assert (track.landmarks[:, 152, 1] < boxes[:, 3]).all()  # chin inside


def test_renders_only_the_lower_face(backend, track, clip_frames, speech_wav):
    audio = analyse_audio(speech_wav)
    originals = [f.copy() for f in clip_frames]
    backend.begin(audio, track, fps=25.0, n_out=N_FRAMES)
    try:
        batch = FrameBatch(frames=clip_frames, out_index=np.arange(N_FRAMES), src_index=np.arange(N_FRAMES))
        out = backend.render(batch)
    finally:
        backend.close()

    assert len(out) == N_FRAMES
    assert all(np.array_equal(a, b) for a, b in zip(clip_frames, originals, strict=True)), "inputs mutated"
    assert np.array_equal(out[3], originals[3]), "a faceless frame must pass through byte-identical"
    for i in (0, 1, 2, 4, 5):
        assert out[i].shape == originals[i].shape and out[i].dtype == np.uint8
        changed = np.any(out[i] != originals[i], axis=2)
        assert changed.sum() > 500, "the lower face should have been regenerated"
        lm = track.landmarks[i]
        ys, xs = np.nonzero(changed)
        # eyes, forehead and hair untouched: nothing changes above the nose bridge
        assert ys.min() > lm[NOSE_BRIDGE, 1], f"frame {i}: pixels changed at y={ys.min()} above the eyes"
        # nothing far outside the face either
        face_w = lm[:, 0].max() - lm[:, 0].min()
        assert xs.min() > lm[:, 0].min() - 0.3 * face_w and xs.max() < lm[:, 0].max() + 0.3 * face_w
        # and the changes are centred on the mouth, not the cheeks
        mouth = lm[[13, 14]].mean(0)
        assert abs(np.median(ys) - mouth[1]) < 0.25 * (lm[152, 1] - lm[10, 1])


def test_render_before_begin_is_a_programming_error(backend, clip_frames):
    batch = FrameBatch(frames=clip_frames[:1], out_index=np.arange(1), src_index=np.arange(1))
    with pytest.raises(RuntimeError):
        backend.render(batch)
