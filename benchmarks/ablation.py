"""Which change moved which number: the learner with each of the fidelity changes of issue 10
switched back (or to PWM's own value), one seed per cell, next to the default. Every cell is a
labelled learning-benchmark run (benchmarks/learning.py), so it is resumable the same way and
finished cells are skipped; finished cells are recorded in `benchmarks/records/ablation.jsonl`.

    python benchmarks/ablation.py [--agent-steps 30000] [--seeds 1] [--cells default no-entropy ...] [--tasks Hopper-v5]
"""
import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from learning import RECIPE, agent_steps_per_epoch, finished_run, plan  # noqa: E402
from records import Records  # noqa: E402

# label -> (tasks, variants, pwm-train overrides); "default" is the learner as shipped.
CELLS = {
    "default": (["cartpole-swingup", "pendulum-swingup", "Hopper-v5"], ["mlp", "flow-heun-k2"], []),
    "wm-3-steps": (["cartpole-swingup"], ["mlp", "flow-heun-k2"], ["agent.model_horizon=3", "agent.rho=0.5", "agent.batch_size=256"]),
    "rho-0.99": (["cartpole-swingup"], ["mlp"], ["agent.rho=0.99"]),
    "critic-1-pass": (["cartpole-swingup"], ["mlp"], ["agent.critic_iterations=1"]),
    "critic-pwm-8x4": (["cartpole-swingup"], ["mlp"], ["agent.critic_iterations=8"]),
    "lr-decay-over-run": (["cartpole-swingup"], ["mlp"], ["agent.lr_decay_epochs={epochs}"]),
    "no-entropy": (["cartpole-swingup", "pendulum-swingup"], ["mlp"], ["agent.entropy_coef=0"]),
    "entropy-1e-2": (["pendulum-swingup"], ["mlp"], ["agent.entropy_coef=0.01"]),
    "no-stagger": (["cartpole-swingup"], ["mlp"], ["env.stagger=false"]),
    "flow-no-projection": (["cartpole-swingup"], ["flow-heun-k2"], ["dynamics.project=false"]),
    "rollout-from-env": (["cartpole-swingup", "Hopper-v5"], ["mlp"],
                         ["agent.rollout_start=env", "agent.horizon=16", "agent.actor_updates_per_epoch=1",
                          "env.steps_per_epoch=16"]),
    "no-termination-head": (["Hopper-v5"], ["mlp"], ["model.termination=off"]),
    "encoder-lr-0.3": (["cartpole-swingup"], ["mlp"], ["agent.encoder_lr_scale=0.3"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent-steps", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--tasks", nargs="+", help="only these of each cell's tasks (default: all of them)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/ablation"))
    args = parser.parse_args()
    jobs = []
    for label in args.cells:
        tasks, variants, overrides = CELLS[label]
        epochs = args.agent_steps // agent_steps_per_epoch([*RECIPE, *overrides])
        tasks = [t for t in tasks if not args.tasks or t in args.tasks]
        cell = argparse.Namespace(agent_steps=args.agent_steps, tasks=tasks, variants=variants, seeds=args.seeds,
                                  variants_everywhere=True, out=args.out, label=label,
                                  overrides=[o.format(epochs=epochs) for o in overrides])
        jobs += plan(cell)
    records = Records("ablation")
    started = time.monotonic()
    with ThreadPoolExecutor(args.workers) as pool:
        rows = list(pool.map(lambda job: {"cell": job["label"], **finished_run(job, args.episodes, records)}, jobs))
    table = pd.DataFrame(rows).pivot_table(index=["task", "variant"], columns="cell", values="eval_return")
    pd.set_option("display.width", 250)
    print(f"{args.agent_steps} agent steps per run, seeds {args.seeds}, {args.episodes} evaluation episodes; "
          "evaluated return of the final checkpoint:")
    print(table.to_string(float_format="%.0f"))
    cost = pd.DataFrame(rows).groupby("cell")["cpu_min_per_100k"].mean()
    print("CPU-minutes per 100k agent steps:", cost.round(1).to_dict())
    print(f"wall time of this invocation: {time.monotonic() - started:.0f}s with {args.workers} workers")


if __name__ == "__main__":
    main()
