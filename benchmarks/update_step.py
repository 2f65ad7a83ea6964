"""Time one world-model update (batch 256, horizon 16) and one actor-critic update (batch 256,
horizon 16) per size, fp32 and `agent.precision=bf16` (autocast); print achieved GFLOP/s (FLOPs counted by torch)
and the ratio to this machine's fp32 matmul GFLOP/s, measured in the same run.

    python benchmarks/update_step.py [--sizes 1M 5M 48M] [--dtypes fp32 bf16] [--adam foreach fused]
                                     [--device cpu|cuda] [--repeats 3] [--threads 1]

Runs at one torch thread by default, as training does: on a shared machine more threads mix
other processes' load into the figures. The matmul peak is measured at the same thread count.
"""
import argparse
import itertools
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from pwm.agent import Agent
from pwm.config import compose_config
from pwm.precision import native_bf16

OBS_DIM, ACTION_DIM, BATCH, HORIZON = 105, 8, 256, 16  # Ant-v5 dims


def matmul_gflops(device, n=2048, repeats=10, dtype=torch.float32) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_update(fn, device, repeats) -> tuple[float, float]:
    """(seconds per call, GFLOP per call)"""
    with FlopCounterMode(display=False) as counter:
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / repeats, counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["1M", "5M", "48M"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--adam", nargs="+", default=["foreach"], choices=["foreach", "fused"], help="agent.adam")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (training uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    peak = matmul_gflops(device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, fp32 matmul {peak:.1f} GFLOP/s, "
          f"bf16 matmul {matmul_gflops(device, 1024, 3, torch.bfloat16):.1f} GFLOP/s (n=1024: slow without native bf16, "
          f"which this {device.type} has: {native_bf16(device.type)})")
    print(f"{'size':>5} {'dtype':>5} {'adam':>7} {'update':>12} {'ms':>9} {'GFLOP':>8} {'GFLOP/s':>8} {'of matmul':>9}")
    for size, dtype, adam in itertools.product(args.sizes, args.dtypes, args.adam):
        cfg = compose_config("train", [f"size={size}", f"device={args.device}", f"agent.batch_size={BATCH}",
                                       f"agent.horizon={HORIZON}", f"agent.model_horizon={HORIZON}",
                                       f"agent.precision={dtype}", f"agent.adam={adam}"])
        agent = Agent(cfg, OBS_DIM, ACTION_DIM, device)
        batch = {"obs": torch.randn(BATCH, OBS_DIM, device=device),
                 "next_obs": torch.randn(HORIZON, BATCH, OBS_DIM, device=device),
                 "action": torch.rand(HORIZON, BATCH, ACTION_DIM, device=device) * 2 - 1,
                 "reward": torch.rand(HORIZON, BATCH, 1, device=device),
                 "terminated": torch.zeros(HORIZON, BATCH, 1, device=device)}
        updates = {"world_model": lambda: agent.update_world_model(batch),
                   "actor_critic": lambda: agent.update_actor_critic(batch["obs"])}
        for name, fn in updates.items():
            seconds, gflop = time_update(fn, device, args.repeats)
            rate = gflop / seconds
            print(f"{size:>5} {dtype:>5} {adam:>7} {name:>12} {seconds * 1e3:9.1f} {gflop:8.1f} {rate:8.1f} {rate / peak:9.2f}")


if __name__ == "__main__":
    main()
