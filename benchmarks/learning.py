"""Does the learner learn? Baseline MLP vs flow (Euler K=4) dynamics on two dm_control tasks,
several seeds, a fixed env-step budget; each run's final checkpoint is evaluated in the real
environment (deterministic policy) and printed next to a uniform-random policy.

    python benchmarks/learning.py [--env-steps 30720] [--seeds 1 2 3] [--workers 2] [--out DIR]
        [--tasks cartpole-swingup pendulum-swingup] [--variants mlp flow-euler-k4] [--overrides key=value ...]
"""
import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.envs import make_env
from pwm.evaluate import evaluate_checkpoint, run_episodes

TASKS = ["cartpole-swingup", "pendulum-swingup"]
VARIANTS = {"mlp": ["dynamics.kind=mlp"],
            "flow-euler-k4": ["dynamics.kind=flow", "dynamics.integrator=euler", "dynamics.substeps=4"]}
# The laptop recipe: smaller imagined batch, more actor updates per env step.
RECIPE = ["size=1M", "agent.actor_batch_size=64", "agent.model_updates_per_epoch=8",
          "agent.actor_updates_per_epoch=4"]
ENV_STEPS_PER_EPOCH = 16 * 8 * 2  # default num_envs x steps_per_epoch x action repeat
EVAL_EPISODES = 10


def train(run_dir: Path, overrides: list[str]) -> float:
    started = time.monotonic()
    cmd = [str(Path(sys.executable).parent / "pwm-train"), f"run_dir={run_dir}", *overrides]
    with open(run_dir.with_suffix(".log"), "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - started


def random_policy_return(task: str, episodes: int) -> float:
    rng = np.random.default_rng(0)
    action_shape = make_env(task, seed=0).action_space.shape
    policy = lambda obs: rng.uniform(-1, 1, (obs.shape[0], *action_shape)).astype(np.float32)  # noqa: E731
    return float(np.mean([r["return"] for r in run_episodes(policy, task, list(range(10**6, 10**6 + episodes)))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-steps", type=int, default=30720)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=2, help="runs trained at once (1 torch thread each)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/learning"))
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--overrides", nargs="*", default=[], help="extra pwm-train key=value settings")
    args = parser.parse_args()
    epochs = args.env_steps // ENV_STEPS_PER_EPOCH
    jobs = []
    for task in args.tasks:
        for variant in args.variants:
            for seed in args.seeds:
                run_dir = args.out / task / variant / f"seed{seed}"
                run_dir.parent.mkdir(parents=True, exist_ok=True)
                overrides = [f"task={task}", f"seed={seed}", f"epochs={epochs}", f"checkpoint_every={epochs}",
                             *RECIPE, *VARIANTS[variant], *args.overrides]
                jobs.append((task, variant, seed, run_dir, overrides))
    started = time.monotonic()
    with ThreadPoolExecutor(args.workers) as pool:
        walls = list(pool.map(lambda j: train(j[3], j[4]), jobs))
    rows = []
    for (task, variant, seed, run_dir, _), wall in zip(jobs, walls):
        ckpt = run_dir / "final" / "checkpoint.pt"
        ev = evaluate_checkpoint(ckpt, EVAL_EPISODES, seed_base=10**6)
        rows.append({"task": task, "variant": variant, "seed": seed, "eval_return": ev["return"].mean(),
                     "train_wall_s": wall})
    df = pd.DataFrame(rows)
    randoms = {task: random_policy_return(task, EVAL_EPISODES) for task in args.tasks}
    summary = df.groupby(["task", "variant"]).agg(mean=("eval_return", "mean"), std=("eval_return", "std"),
                                                  wall_s=("train_wall_s", "mean")).reset_index()
    summary["random_policy"] = summary["task"].map(randoms)
    pd.set_option("display.width", 160)
    print(f"env steps per run: {epochs * ENV_STEPS_PER_EPOCH}; eval: {EVAL_EPISODES} episodes, deterministic policy")
    print(df.to_string(index=False, float_format="%.1f"))
    print(summary.to_string(index=False, float_format="%.1f"))
    print(f"total wall time: {time.monotonic() - started:.0f}s with {args.workers} workers")


if __name__ == "__main__":
    main()
