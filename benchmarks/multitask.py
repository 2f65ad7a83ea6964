"""Does a policy learned through a multi-task world model act well in the real environment?
Collects random-policy episodes of each task (plus, with --runs, the replay buffers of finished
single-task runs), trains one small world model over all tasks, learns a policy per task through
it, and prints each policy's evaluated return (deterministic, real environment, final checkpoint)
next to a uniform-random policy's.

    python benchmarks/multitask.py [--tasks cartpole-balance cartpole-swingup reacher-easy]
        [--runs RUN_DIR ...] [--episodes 32] [--wm-epochs 200] [--policy-epochs 100]
        [--seeds 1] [--workers 2] [--out DIR]
"""
import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from pwm.evaluate import evaluate_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from learning import random_policy  # noqa: E402

EVAL_EPISODES = 10

WORLD_MODEL = ["size=1M", "updates_per_epoch=10"]
POLICY = ["agent.actor_batch_size=64", "agent.actor_updates_per_epoch=4"]


def command(name: str, args: list[str], log: Path) -> float:
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        subprocess.run([str(Path(sys.executable).parent / name), *args], stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["cartpole-balance", "cartpole-swingup", "reacher-easy"])
    parser.add_argument("--runs", nargs="*", type=Path, default=[], help="finished single-task run folders to add")
    parser.add_argument("--episodes", type=int, default=32, help="random-policy episodes per task")
    parser.add_argument("--wm-epochs", type=int, default=200)
    parser.add_argument("--policy-epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/multitask"))
    args = parser.parse_args()
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    jobs = [("pwm-mt-data", [f"out={data}/{t}-random.pt", f"task={t}", f"episodes={args.episodes}"], data / f"{t}.log")
            for t in args.tasks]
    jobs += [("pwm-mt-data", [f"out={data}/run{i}.pt", f"run_dir={r}"], data / f"run{i}.log") for i, r in enumerate(args.runs)]
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda j: command(*j), jobs))
    print(f"data: {time.monotonic() - started:.0f} s", flush=True)
    tasks = "[" + ",".join(args.tasks) + "]"
    rows = []
    for seed in args.seeds:
        root = args.out / f"seed{seed}"
        wm_s = command("pwm-mt-world-model", [f"run_dir={root}/world_model", f"tasks={tasks}", f"data=[{data}]",
                                              f"seed={seed}", f"epochs={args.wm_epochs}",
                                              f"checkpoint_every={args.wm_epochs}", *WORLD_MODEL],
                       root.with_name(f"seed{seed}-world_model.log"))
        print(f"seed {seed}: world model {wm_s:.0f} s", flush=True)

        def policy(task: str) -> dict:
            run = root / "policy" / task
            s = command("pwm-mt-policy", [f"run_dir={run}", f"world_model={root}/world_model/final/checkpoint.pt",
                                          f"task={task}", f"data=[{data}]", f"seed={seed}",
                                          f"epochs={args.policy_epochs}", f"checkpoint_every={args.policy_epochs}",
                                          *POLICY], run.with_suffix(".log"))
            ev = evaluate_checkpoint(run / "final" / "checkpoint.pt", EVAL_EPISODES, 1_000_000)
            return {"task": task, "seed": seed, "return": ev["return"].mean(), "policy_s": s, "world_model_s": wm_s}

        with ThreadPoolExecutor(args.workers) as pool:
            rows += list(pool.map(policy, args.tasks))
    table = pd.DataFrame(rows)
    summary = table.groupby("task").agg(mt_return=("return", "mean"), mt_sd=("return", "std"),
                                        per_seed=("return", lambda r: " / ".join(f"{v:.1f}" for v in r)))
    summary["random_return"] = [random_policy(t, EVAL_EPISODES)[0] for t in summary.index]
    print(summary.to_string(float_format=lambda v: f"{v:.1f}"))
    print(f"total {time.monotonic() - started:.0f} s with {args.workers} workers")
    table.to_csv(args.out / "results.csv", index=False)


if __name__ == "__main__":
    main()
