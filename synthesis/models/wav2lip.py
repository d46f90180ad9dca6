"""The Wav2Lip generator, state-dict compatible with the published `wav2lip.pth` / `wav2lip_gan.pth`.

Module names and shapes follow the published checkpoints key for key (see `wav2lip_manifest.json` next to
this file), so the weights load strictly. For inference, `load_wav2lip` folds every BatchNorm into its
convolution: the folded network computes the same function with one op fewer per block.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from synthesis.errors import ModelWeightsMissing

CHECKPOINT_SETTING = "WAV2LIP_CHECKPOINT"


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm2d (+ identity residual) + ReLU; the checkpoint's `conv_block.{0,1}` layout."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int | tuple[int, int] = 1,
                 padding: int = 0, residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.act = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class ConvTransposeBlock(nn.Module):
    """ConvTranspose2d + BatchNorm2d + ReLU (decoder upsampling)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                 output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _res(c: int, n: int) -> list[nn.Module]:
    """n residual 3x3 blocks keeping c channels and the spatial size."""
    return [ConvBlock(c, c, 3, 1, 1, residual=True) for _ in range(n)]


def _up(cin: int, cout: int, n_res: int) -> nn.Sequential:
    """x2 upsampling transposed conv followed by n_res residual blocks."""
    return nn.Sequential(ConvTransposeBlock(cin, cout, 3, 2, 1, 1), *_res(cout, n_res))


class Wav2Lip(nn.Module):
    """Audio-conditioned U-Net: masked face + reference (6x96x96) and a mel window (1x80x16) -> 3x96x96."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(6, 16, 7, 1, 3)),                                  # 16 @ 96
            nn.Sequential(ConvBlock(16, 32, 3, 2, 1), *_res(32, 2)),                   # 32 @ 48
            nn.Sequential(ConvBlock(32, 64, 3, 2, 1), *_res(64, 3)),                   # 64 @ 24
            nn.Sequential(ConvBlock(64, 128, 3, 2, 1), *_res(128, 2)),                 # 128 @ 12
            nn.Sequential(ConvBlock(128, 256, 3, 2, 1), *_res(256, 2)),                # 256 @ 6
            nn.Sequential(ConvBlock(256, 512, 3, 2, 1), *_res(512, 1)),                # 512 @ 3
            nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),  # 512 @ 1
        ])
        self.audio_encoder = nn.Sequential(                                            # 1 x 80 x 16
            ConvBlock(1, 32, 3, 1, 1), *_res(32, 2),                                   # 32 x 80 x 16
            ConvBlock(32, 64, 3, (3, 1), 1), *_res(64, 2),                             # 64 x 27 x 16
            ConvBlock(64, 128, 3, 3, 1), *_res(128, 2),                                # 128 x 9 x 6
            ConvBlock(128, 256, 3, (3, 2), 1), *_res(256, 1),                          # 256 x 3 x 3
            ConvBlock(256, 512, 3, 1, 0),                                              # 512 x 1 x 1
            ConvBlock(512, 512, 1, 1, 0),
        )
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),                               # 512 @ 1
            nn.Sequential(ConvTransposeBlock(1024, 512, 3, 1, 0), *_res(512, 1)),      # 512 @ 3
            _up(1024, 512, 2),                                                         # 512 @ 6
            _up(768, 384, 2),                                                          # 384 @ 12
            _up(512, 256, 2),                                                          # 256 @ 24
            _up(320, 128, 2),                                                          # 128 @ 48
            _up(160, 64, 2),                                                           # 64 @ 96
        ])
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1), nn.Sigmoid())

    def prepare_inputs(self, mel: torch.Tensor, face: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Move 4-D inputs to the model's device and dtype, channels_last (the layout load_wav2lip uses)."""
        w = self.output_block[1].weight
        mel = mel.to(device=w.device, dtype=w.dtype).contiguous(memory_format=torch.channels_last)
        face = face.to(device=w.device, dtype=w.dtype).contiguous(memory_format=torch.channels_last)
        return mel, face

    def forward(self, audio_sequences: torch.Tensor, face_sequences: torch.Tensor) -> torch.Tensor:
        """[B,1,80,16] + [B,6,96,96] -> [B,3,96,96]; the reference's 5-D [B,T,1,80,16] + [B,6,T,96,96] too."""
        time_batched = face_sequences.dim() > 4
        if time_batched:
            b = audio_sequences.size(0)
            audio_sequences = torch.cat(audio_sequences.unbind(1), dim=0)
            face_sequences = torch.cat(face_sequences.unbind(2), dim=0)

        x = self.audio_encoder(audio_sequences)
        feats = []
        f = face_sequences
        for block in self.face_encoder_blocks:
            f = block(f)
            feats.append(f)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), feats.pop()), dim=1)
        out = self.output_block(x)

        if time_batched:
            out = torch.stack(torch.split(out, b, dim=0), dim=2)
        return out


@torch.no_grad()
def _fold(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
    """Absorb bn's affine normalisation into conv's weight and bias (eval-mode statistics)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    if isinstance(conv, nn.ConvTranspose2d):
        # weight is [in, out/groups, kh, kw]: output channels on dim 1
        conv.weight.mul_(scale.view(1, -1, 1, 1))
    else:
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
    new_bias = (bias - bn.running_mean) * scale + bn.bias
    conv.bias = nn.Parameter(new_bias.detach().clone())


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold each conv_block's BatchNorm into its conv, in place; BN becomes Identity. Eval use only.

    The state dict no longer matches the checkpoint layout afterwards, so fold after loading.
    """
    model.eval()
    for module in model.modules():
        is_block = isinstance(module, ConvBlock | ConvTransposeBlock)
        if is_block and isinstance(module.conv_block[1], nn.BatchNorm2d):
            _fold(module.conv_block[0], module.conv_block[1])
            module.conv_block[1] = nn.Identity()
    return model


def _strip_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove DataParallel's `module.` prefix that the published checkpoints carry."""
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def _missing_message(path: str | os.PathLike | None) -> str:
    where = f"'{path}' does not exist" if path else "no checkpoint path was given"
    return (
        f"The Wav2Lip backend needs the Wav2Lip weights, but {where}. Download wav2lip.pth or "
        f"wav2lip_gan.pth (the published Rudrabha/Wav2Lip checkpoints) and set the {CHECKPOINT_SETTING} "
        f"setting/environment variable to its path (or pass the path explicitly), or use the 'warp' backend, "
        f"which needs no weights."
    )


def load_wav2lip(path: str | os.PathLike | None, device: str | torch.device = "cpu", *,
                 fold_bn: bool = True, half: bool | None = None, dtype: torch.dtype | None = None) -> Wav2Lip:
    """Load a published checkpoint strictly, ready for inference (eval, BN folded, channels_last).

    half=None means fp16 on CUDA and fp32 elsewhere; `dtype` overrides it (e.g. torch.bfloat16 on a CPU
    with avx512_bf16/AMX: ~2x faster, max abs output diff ~3e-2, see bench/README.md). channels_last is
    used on every device: measured faster on CPU (oneDNN) and on CUDA tensor cores. Feed inputs of the
    model's dtype, ideally channels_last too (`Wav2Lip.prepare_inputs` does both).
    """
    if not path or not Path(path).is_file():
        raise ModelWeightsMissing(_missing_message(path))
    device = torch.device(device)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt / not a torch file
        raise ModelWeightsMissing(f"Cannot read the Wav2Lip checkpoint '{path}': {exc}") from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping):
        raise ModelWeightsMissing(f"'{path}' is not a Wav2Lip checkpoint (no state dict inside).")
    state = _strip_prefix(state)

    model = Wav2Lip()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        raise ModelWeightsMissing(
            f"'{path}' does not match the Wav2Lip generator: {len(missing)} missing keys {missing[:5]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:5]}, {len(wrong_shape)} wrong shapes "
            f"{wrong_shape[:5]}. Is it a SyncNet/discriminator or another model's checkpoint?"
        )
    model.load_state_dict(state, strict=True)
    model.eval()
    if fold_bn:
        fold_batchnorm(model)
    if dtype is None:
        dtype = torch.float16 if (half or (half is None and device.type == "cuda")) else torch.float32
    model.to(device=device, dtype=dtype, memory_format=torch.channels_last)
    for p in model.parameters():
        p.requires_grad_(False)
    return model
