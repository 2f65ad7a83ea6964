"""CPU time per agent step of the learning recipe (benchmarks/learning.py's) at one torch
thread, for several settings compared within one run: each setting's trainer is built, its
random phase filled, then the settings take turns timing a few learning epochs (collect +
updates), so that a shared machine's load falls on all of them alike.

    python benchmarks/recipe_speed.py                       # fp32 against bf16 autocast and bf16 + fused Adam
    python benchmarks/recipe_speed.py --task Hopper-v5 --settings "" dynamics.kind=flow

Prints CPU ms per epoch, CPU-minutes per 100k agent steps (the learning benchmark's unit) and
each setting's speed relative to the first, from the median over rounds; and the floating-point
work of one epoch's updates (counted by torch) against this machine's fp32 matmul rate at one
thread, measured in the same run: how far the recipe is from being bound by arithmetic alone.
"""
import argparse
import tempfile
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from learning import RECIPE, agent_steps_per_epoch
from update_step import matmul_gflops
from pwm.config import compose_config
from pwm.trainer import Trainer


def learning_trainer(task: str, setting: str, run_dir: str) -> Trainer:
    """A trainer of the recipe past its random phase and world-model warm-up."""
    cfg = compose_config("train", [f"task={task}", f"run_dir={run_dir}", "threads=1", *RECIPE, *setting.split()])
    trainer = Trainer(cfg, log=lambda *_: None)
    for _ in range(trainer.random_epochs):
        trainer.collect()
    trainer.epoch = trainer.random_epochs
    trainer.update()  # the warm-up updates, untimed
    return trainer


def cpu_seconds_per_epoch(trainer: Trainer, epochs: int) -> float:
    start = time.process_time()
    for _ in range(epochs):
        trainer.collect()
        trainer.update()
    return (time.process_time() - start) / epochs


def update_gflop(trainer: Trainer) -> float:
    """GFLOP of one epoch's world-model, actor and critic updates."""
    with FlopCounterMode(display=False) as counter:
        trainer.update()
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="cartpole-swingup")
    parser.add_argument("--settings", nargs="+", default=["agent.precision=fp32", "agent.precision=bf16",
                                                           "agent.precision=bf16 agent.adam=fused"],
                        help='space-separated pwm-train overrides per setting; "" is the default')
    parser.add_argument("--epochs", type=int, default=8, help="learning epochs per turn")
    parser.add_argument("--rounds", type=int, default=3, help="turns per setting")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        trainers = [learning_trainer(args.task, s, f"{tmp}/{i}") for i, s in enumerate(args.settings)]
        seconds = [[] for _ in trainers]
        for _ in range(args.rounds):
            for trainer, times in zip(trainers, seconds):
                times.append(cpu_seconds_per_epoch(trainer, args.epochs))
        work = [update_gflop(trainer) for trainer in trainers]
    peak = matmul_gflops(torch.device("cpu"))
    per_epoch = agent_steps_per_epoch(RECIPE)
    medians = [float(np.median(t)) for t in seconds]
    print(f"{args.task}, 1M recipe ({per_epoch} agent steps per epoch), one thread, "
          f"median of {args.rounds} turns of {args.epochs} epochs")
    print(f"{'setting':<28} {'CPU ms/epoch':>12} {'CPU-min/100k':>12} {'speed':>6} {'GFLOP/epoch':>11} "
          f"{'at peak ms':>10}")
    for setting, median, gflop in zip(args.settings, medians, work):
        print(f"{setting or 'default':<28} {median * 1e3:12.0f} {median * 1e5 / per_epoch / 60:12.1f} "
              f"{medians[0] / median:6.2f} {gflop:11.1f} {gflop / peak * 1e3:10.0f}")
    print(f"fp32 matmul at one thread: {peak:.0f} GFLOP/s ('at peak': the updates' arithmetic at that rate, "
          "the least CPU time an epoch could take)")


if __name__ == "__main__":
    main()
