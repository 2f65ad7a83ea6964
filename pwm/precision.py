"""Which precision the updates' forward passes compute in (`agent.precision`).

bf16 autocast runs the matmuls in bfloat16 while parameters, gradients and Adam's moments stay
fp32. Whether that pays depends entirely on the hardware: on a CPU with native bfloat16
dot products (AVX512-BF16 or AMX, through oneDNN) a one-thread matmul ran at 503 GFLOP/s
against fp32's 119 (the header of benchmarks/update_step.py), and the 1M learning recipe 2.0x
faster per agent step (benchmarks/recipe_speed.py); with oneDNN held to AVX2
(ONEDNN_MAX_CPU_ISA=AVX2, as on a CPU without them) bf16 fell to 1.3 GFLOP/s, ~90x slower than
fp32. So `auto` takes bf16 only where the device computes it natively (CUDA GPUs that
support it; CPUs as above), fp32 elsewhere, and every run says what it used (status.json).
"""
from functools import cache

import torch


@cache
def native_bf16(device_type: str) -> bool:
    """Whether bfloat16 matmuls run natively (fast) on this machine's `device_type` device."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    return (device_type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()
            and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))


def resolved(precision: str, device: torch.device) -> str:
    """fp32 or bf16: `precision` itself, or for `auto` what this device computes natively."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device.type) else "fp32"


def describe(precision: str, device: torch.device) -> str:
    """The line a trainer logs at start: what the updates compute in, with a warning where an
    explicit bf16 has no native support on `device`."""
    used = resolved(precision, device)
    line = f"updates compute in {used} (agent.precision={precision})"
    if used == "bf16" and not native_bf16(device.type):
        line += (f": WARNING, this {device.type} has no native bfloat16 and runs it many times slower than fp32; "
                 "use agent.precision=auto or fp32")
    return line


def autocast(precision: str, device: torch.device):
    """A context in which the forward passes compute in `precision` (resolved on `device`)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=resolved(precision, device) == "bf16")
