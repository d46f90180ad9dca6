"""The Wav2Lip generator matches the published checkpoints' layout and loads them strictly.

No real weights are available here, so the checkpoint is synthetic: random tensors of exactly the shapes in
the shipped manifest, stored like the published files ({"state_dict": {"module.<key>": tensor}}).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from synthesis.errors import ModelWeightsMissing
from synthesis.models import wav2lip as w2l

MANIFEST = Path(w2l.__file__).with_name("wav2lip_manifest.json")


def manifest_keys() -> dict[str, list[int]]:
    return json.loads(MANIFEST.read_text())["keys"]


def synthetic_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the manifest's shapes; BN statistics far from identity so folding is exercised."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in manifest_keys().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) * 1.5 + 0.25
        elif key.endswith("running_mean") or key.endswith(".bias"):
            state[key] = torch.randn(shape, generator=g) * 0.1
        elif ".conv_block.1.weight" in key:  # BN gamma
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            fan = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=g) * (1.0 / fan) ** 0.5
    return state


def save_checkpoint(path: Path, state: dict[str, torch.Tensor] | None = None) -> Path:
    state = synthetic_state() if state is None else state
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "global_step": 1}, path)
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("w2l") / "wav2lip_synthetic.pth")


def inputs(b: int = 2, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mel = torch.rand(b, 1, 80, 16, generator=g) * 8 - 4
    face = torch.rand(b, 6, 96, 96, generator=g)
    face[:, :3, 48:] = 0
    return mel, face


def test_manifest_ships_with_the_package():
    keys = manifest_keys()
    assert len(keys) == 352 and "output_block.1.weight" in keys


def test_state_dict_matches_manifest_key_for_key_and_shape_for_shape():
    expected = manifest_keys()
    actual = {k: list(v.shape) for k, v in w2l.Wav2Lip().state_dict().items()}
    assert sorted(actual) == sorted(expected)
    assert [k for k in expected if actual[k] != expected[k]] == []


def test_parameter_count_is_the_published_36_3m():
    n = sum(p.numel() for p in w2l.Wav2Lip().parameters())
    assert abs(n / 1e6 - 36.3) < 0.05


def test_loads_prefixed_checkpoint_strictly_in_eval_mode(checkpoint):
    model = w2l.load_wav2lip(checkpoint, fold_bn=False)
    assert not model.training
    state = synthetic_state()
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_bare_state_dict_without_prefix_loads_too(tmp_path):
    path = tmp_path / "bare.pth"
    torch.save(synthetic_state(), path)
    assert isinstance(w2l.load_wav2lip(path), w2l.Wav2Lip)


def test_forward_shapes_and_range(checkpoint):
    model = w2l.load_wav2lip(checkpoint)
    mel, face = inputs(3)
    with torch.inference_mode():
        out = model(*model.prepare_inputs(mel, face))
    assert out.shape == (3, 3, 96, 96)
    assert out.dtype == torch.float32
    assert out.min().item() >= 0.0 and out.max().item() <= 1.0


def test_reference_time_batched_input_is_accepted():
    model = w2l.Wav2Lip().eval()
    mel, face = inputs(2)
    with torch.inference_mode():
        flat = model(mel, face)
        timed = model(mel.view(1, 2, 1, 80, 16), face.view(1, 2, 6, 96, 96).transpose(1, 2))
    assert timed.shape == (1, 3, 2, 96, 96)
    torch.testing.assert_close(timed.transpose(1, 2).reshape(2, 3, 96, 96), flat)


def test_folded_batchnorm_gives_the_same_output(checkpoint):
    plain = w2l.load_wav2lip(checkpoint, fold_bn=False)
    folded = w2l.load_wav2lip(checkpoint, fold_bn=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    n_bn = sum(k.endswith("running_var") for k in manifest_keys())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules()) == n_bn == 50
    mel, face = inputs(2)
    with torch.inference_mode():
        a = plain(mel, face)
        b = folded(*folded.prepare_inputs(mel, face))
        x = torch.randn(2, 1024, 3, 3)  # transposed-conv blocks, away from the sigmoid's compression
        pre_a = plain.face_decoder_blocks[2](x)
        pre_b = folded.face_decoder_blocks[2](x.contiguous(memory_format=torch.channels_last))
    assert (a - b).abs().max().item() < 1e-4
    assert (pre_a - pre_b).abs().max().item() < 1e-4 * max(1.0, pre_a.abs().max().item())


def test_fold_batchnorm_is_public_and_handles_transposed_convs():
    block = w2l.ConvTransposeBlock(8, 4, 3, 2, 1, 1).eval()
    bn = block.conv_block[1]
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.2, 3.0)
    bn.weight.data.uniform_(0.5, 2.0)
    bn.bias.data.normal_()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        before = block(x)
        w2l.fold_batchnorm(block)
        after = block(x)
    assert isinstance(block.conv_block[1], torch.nn.Identity)
    assert (before - after).abs().max().item() < 1e-5


def test_missing_checkpoint_names_the_setting(tmp_path):
    with pytest.raises(ModelWeightsMissing) as info:
        w2l.load_wav2lip(tmp_path / "nope.pth")
    message = str(info.value)
    assert "WAV2LIP_CHECKPOINT" in message and "nope.pth" in message and "wav2lip" in message.lower()


def test_wrong_keys_are_listed(tmp_path):
    state = synthetic_state()
    state["face_encoder_blocks.0.0.conv_block.0.weightz"] = state.pop("face_encoder_blocks.0.0.conv_block.0.weight")
    state["audio_encoder.0.conv_block.0.weight"] = torch.zeros(32, 1, 5, 5)
    path = save_checkpoint(tmp_path / "wrong.pth", state)
    with pytest.raises(ModelWeightsMissing) as info:
        w2l.load_wav2lip(path)
    message = str(info.value)
    assert "face_encoder_blocks.0.0.conv_block.0.weight'" in message  # missing
    assert "weightz" in message  # unexpected
    assert "audio_encoder.0.conv_block.0.weight" in message  # wrong shape


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ModelWeightsMissing, match="garbage.pth"):
        w2l.load_wav2lip(path)


def test_bfloat16_stays_close_to_fp32(checkpoint):
    """The opt-in CPU speed-up (bench/README.md): documented tolerance 5e-2 max abs on [0, 1] outputs."""
    fp32 = w2l.load_wav2lip(checkpoint)
    bf16 = w2l.load_wav2lip(checkpoint, dtype=torch.bfloat16)
    assert next(bf16.parameters()).dtype == torch.bfloat16
    mel, face = inputs(2)
    with torch.inference_mode():
        a = fp32(*fp32.prepare_inputs(mel, face))
        b = bf16(*bf16.prepare_inputs(mel, face)).float()
    assert (a - b).abs().max().item() < 5e-2
