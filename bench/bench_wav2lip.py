"""Wav2Lip network-stage throughput on CPU (or CUDA), per inference variant.

Why: the reference network runs ~4.3 frames/s (fp32, batch 32) on the 2-core CPU; this measures which
inference tricks get it past 6 fps and how far each one moves the output from the plain fp32 network.
Weights are random tensors of the published checkpoint's shapes (from the shipped manifest), so no
download is needed; speed does not depend on the weight values (denormals aside: flushed in every variant).

    .venv/bin/python bench/bench_wav2lip.py [--batch 32] [--iters 3] [--variants plain,folded,...]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthesis.models.wav2lip import Wav2Lip, fold_batchnorm, load_wav2lip  # noqa: E402

MANIFEST = Path(__file__).resolve().parents[1] / "synthesis" / "models" / "wav2lip_manifest.json"

Runner = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def synthetic_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the checkpoint's keys and shapes; BN statistics in a realistic range."""
    g = torch.Generator().manual_seed(seed)
    keys = json.loads(MANIFEST.read_text())["keys"]
    state = {}
    for key, shape in keys.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith("running_mean") or (key.endswith(".bias")):
            state[key] = torch.randn(shape, generator=g) * 0.05
        elif ".conv_block.1.weight" in key:
            state[key] = torch.rand(shape, generator=g) * 0.5 + 0.75
        else:  # conv weights: He-like scale keeps activations in a normal range through 40 layers
            transposed = re.match(r"face_decoder_blocks\.[1-6]\.0\.", key) is not None  # [in, out, kh, kw]
            fan_in = (shape[0] if transposed else shape[1]) * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5 * 0.7
    # spread the logits like a trained model's (outputs over most of [0, 1]) so diffs are meaningful
    state["output_block.1.weight"] *= 15
    return state


def build(fold: bool) -> Wav2Lip:
    model = Wav2Lip()
    model.load_state_dict(synthetic_state(), strict=True)
    model.eval()
    if fold:
        fold_batchnorm(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def variants(device: torch.device) -> dict[str, Callable[[torch.Tensor, torch.Tensor], Runner]]:
    """name -> factory(example_mel, example_face) -> runner; each runner returns fp32 output."""

    def plain(mel, face):
        m = build(fold=False).to(device)
        return lambda a, f: m(a, f)

    def folded(mel, face):
        m = build(fold=True).to(device)
        return lambda a, f: m(a, f)

    def folded_cl(mel, face):
        m = build(fold=True).to(device).to(memory_format=torch.channels_last)
        return lambda a, f: m(a, f.contiguous(memory_format=torch.channels_last)).contiguous()

    def jit_freeze(mel, face):
        m = build(fold=True).to(device)
        traced = torch.jit.trace(m, (mel, face))
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        return lambda a, f: frozen(a, f)

    def compiled(mel, face):
        m = build(fold=True).to(device)
        c = torch.compile(m, dynamic=False)
        return lambda a, f: c(a, f)

    def bf16_cl(mel, face):
        m = build(fold=True).to(device).to(memory_format=torch.channels_last)

        def run(a, f):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                return m(a, f.contiguous(memory_format=torch.channels_last)).float().contiguous()
        return run

    def bf16_weights_cl(mel, face):
        m = build(fold=True).to(device).to(memory_format=torch.channels_last).to(torch.bfloat16)
        return lambda a, f: m(*m.prepare_inputs(a, f)).float()

    def bf16_compiled(mel, face):
        m = build(fold=True).to(device).to(memory_format=torch.channels_last).to(torch.bfloat16)
        c = torch.compile(m, dynamic=False)
        return lambda a, f: c(*m.prepare_inputs(a, f)).float()

    def loaded(dtype: torch.dtype | None):
        """The production path: load_wav2lip on a checkpoint file laid out like the published ones."""
        def factory(mel, face):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "synthetic.pth"
                torch.save({"state_dict": {f"module.{k}": v for k, v in synthetic_state().items()}}, path)
                m = load_wav2lip(path, device, dtype=dtype)
            return lambda a, f: m(*m.prepare_inputs(a, f)).float()
        return factory

    def fp16_cl(mel, face):  # the CUDA default
        m = build(fold=True).to(device).half().to(memory_format=torch.channels_last)
        return lambda a, f: m(a.half(), f.half().contiguous(memory_format=torch.channels_last)).float()

    return {
        "plain": plain, "folded": folded, "folded_cl": folded_cl, "jit_freeze": jit_freeze,
        "compile": compiled, "bf16_autocast_cl": bf16_cl, "bf16_cl": bf16_weights_cl,
        "bf16_compile": bf16_compiled, "fp16_cl": fp16_cl,
        "default": loaded(None), "default_bf16": loaded(torch.bfloat16),
    }


DEFAULT_VARIANTS = "plain,folded,folded_cl,default,bf16_autocast_cl,default_bf16"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--keep-denormals", action="store_true", help="do not flush denormals to zero")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS,
                    help="comma list; more: jit_freeze, compile, bf16_compile, fp16_cl (slow setup / CUDA)")
    args = ap.parse_args()

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(not args.keep_denormals)
    torch.manual_seed(0)
    mel = (torch.rand(args.batch, 1, 80, 16) * 8 - 4).to(device)
    face = torch.rand(args.batch, 6, 96, 96).to(device)
    face[:, :3, 48:] = 0  # masked lower half, like the real input

    factories = variants(device)
    print(f"device={device} threads={torch.get_num_threads()} batch={args.batch} iters={args.iters} "
          f"mkldnn={torch.backends.mkldnn.is_available()} flush_denormal={not args.keep_denormals}")
    runners, setup, outputs = {}, {}, {}
    with torch.inference_mode():
        for name in args.variants.split(","):
            t0 = time.perf_counter()
            try:
                runners[name] = factories[name](mel, face)
                outputs[name] = runners[name](mel, face).float().cpu()  # warm-up (and compilation)
                sync(device)
            except Exception as exc:  # report and keep measuring the others
                print(f"{name:<18} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
                runners.pop(name, None)
                continue
            setup[name] = time.perf_counter() - t0
        # round-robin, so a load spike from other processes hits every variant alike; median per variant
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.iters):
            for name, run in runners.items():
                t0 = time.perf_counter()
                run(mel, face)
                sync(device)
                times[name].append(time.perf_counter() - t0)

    reference = next(iter(outputs.values()))
    print(f"{'variant':<18}{'setup s':>9}{'fps med':>9}{'fps best':>9}{'max|diff|':>12}{'mean|diff|':>12}")
    for name in runners:
        diff = (outputs[name] - reference).abs()
        med, best = args.batch / statistics.median(times[name]), args.batch / min(times[name])
        print(f"{name:<18}{setup[name]:>9.1f}{med:>9.2f}{best:>9.2f}"
              f"{diff.max().item():>12.2e}{diff.mean().item():>12.2e}")


if __name__ == "__main__":
    main()
