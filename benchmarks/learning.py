"""Does the learner learn, at the budget published dm_control curves are read at? Online PWM on
each task x dynamics variant x seed for a fixed number of agent steps (default 100k: 200k
simulator frames with dm_control's action repeat 2), the final checkpoint evaluated in the real
environment (deterministic policy, 10 episodes), next to a uniform-random policy.

Resumable: a finished run (final checkpoint evaluated) is skipped, an unfinished one resumes from
its last checkpoint (pwm-train's own resume), so the table survives being stopped and restarted.
CPU time is summed over a run's segments in `cpu.json` beside it. Every finished run is also
recorded in `benchmarks/records/learning.jsonl` (committed; `records.py`), and a run recorded with
the planned configuration and the current learner code is not trained again: the table adds up
over sessions whose machines do not keep the run folders.

    python benchmarks/learning.py                        # the full table (a few CPU-hours)
    python benchmarks/learning.py --tasks cartpole-swingup --seeds 1 --variants mlp
    python benchmarks/learning.py --label no-term --overrides model.termination=off   # an ablation cell
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.config import compose_config
from pwm.envs import default_action_repeat, make_env
from pwm.evaluate import evaluate_checkpoint, run_episodes
from pwm.loop import same_run
from pwm.report import stats

sys.path.insert(0, str(Path(__file__).parent))
from records import Records  # noqa: E402

# task -> seeds of the default table (the minimum: 3 seeds on dm_control, 2 on gymnasium)
TASK_SEEDS = {"cartpole-swingup": [1, 2, 3], "pendulum-swingup": [1, 2, 3], "Hopper-v5": [1, 2], "Ant-v5": [1, 2]}
VARIANTS = {
    "mlp": ["dynamics.kind=mlp"],
    "flow-heun-k2": ["dynamics.kind=flow", "dynamics.integrator=heun", "dynamics.substeps=2"],
    "flow-euler-k4": ["dynamics.kind=flow", "dynamics.integrator=euler", "dynamics.substeps=4"],
}
# variant -> tasks it runs on in the default table (None: every task)
VARIANT_TASKS = {"mlp": None, "flow-heun-k2": None, "flow-euler-k4": ["cartpole-swingup"]}
NUM_ENVS, STEPS_PER_EPOCH = 16, 8
MEASURED = ("eval_return", "eval_length", "cpu_min", "cpu_min_per_100k", "precision")  # a row's figures, as recorded
# The laptop recipe: PWM's world-model batch of 256 sequences, with a smaller imagined batch and
# fewer updates and critic passes per epoch than PWM (config/README.md). The default sweep's 1M
# budget is the same but for a world-model batch of 64, which keeps it within its 6 minutes.
RECIPE = ["size=1M", f"env.num_envs={NUM_ENVS}", f"env.steps_per_epoch={STEPS_PER_EPOCH}",
          "agent.batch_size=256", "agent.actor_batch_size=64", "agent.model_updates_per_epoch=8",
          "agent.actor_updates_per_epoch=2", "agent.critic_iterations=2"]


def run_training(run_dir: Path, overrides: list[str]) -> None:
    """pwm-train until the run completes (it resumes by itself); adds this segment's CPU time."""
    cpu_file = run_dir / "cpu.json"
    before = json.loads(cpu_file.read_text())["cpu_s"] if cpu_file.exists() else 0.0
    cmd = [str(Path(sys.executable).parent / "pwm-train"), f"run_dir={run_dir}", *overrides]
    with open(run_dir.with_suffix(".log"), "a") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    run_dir.mkdir(parents=True, exist_ok=True)
    cpu_file.write_text(json.dumps({"cpu_s": before + usage.ru_utime + usage.ru_stime}))
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"pwm-train failed for {run_dir} (exit {os.waitstatus_to_exitcode(status)}); see {run_dir}.log")


def trainer_cpu_s(run_dir: Path) -> float:
    """CPU seconds of training: pwm-train's own cpu_s (all attempts, survives kills), or for runs
    from before it was logged, this script's sum over the segments it started."""
    metrics = pd.read_parquet(run_dir / "final" / "metrics.parquet")
    if "cpu_s" in metrics and metrics["cpu_s"].notna().all():
        return float(metrics["cpu_s"].iloc[-1])
    return json.loads((run_dir / "cpu.json").read_text())["cpu_s"]


def finished_run(job: dict, episodes: int, records: Records) -> dict:
    """Train (or resume) and evaluate one run, skipping what is already done or recorded; a run
    that fails is a row with its error, so that the rest of the table still comes out."""
    identity = {"task": job["task"], "variant": job["variant"], "seed": job["seed"]}
    recorded = records.find(job, episodes)
    if recorded is not None:
        return {**identity, **{k: recorded[k] for k in MEASURED}, "source": "record"}
    run_dir = job["run_dir"]
    evaluation = run_dir / "eval.parquet"
    failed = {**identity, **dict.fromkeys(MEASURED, float("nan")), "source": "failed"}
    if evaluation.exists() and not same_run((run_dir / "config.yaml").read_text(),
                                            compose_config("train", [f"run_dir={run_dir}", *job["overrides"]])):
        print(f"{run_dir} was trained with another configuration than this recipe's (an older recipe or other "
              "--overrides); not counted: use another --label, or delete it to rerun", file=sys.stderr)
        return failed
    if not evaluation.exists():
        try:
            run_training(run_dir, job["overrides"])
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return failed
        evaluate_checkpoint(run_dir / "final" / "checkpoint.pt", episodes, seed_base=10**6).to_parquet(evaluation)
    ev = pd.read_parquet(evaluation)
    cpu_s = trainer_cpu_s(run_dir)
    measured = {"eval_return": float(ev["return"].mean()), "eval_length": float(ev["length"].mean()),
                "cpu_min": cpu_s / 60, "cpu_min_per_100k": cpu_s / 60 * 1e5 / job["agent_steps"],
                "precision": json.loads((run_dir / "final" / "status.json").read_text()).get("precision", "fp32")}
    records.add(job, (run_dir / "config.yaml").read_text(), episodes,
                {**measured, "returns": ev["return"].round(2).tolist(), "lengths": ev["length"].tolist()})
    return {**identity, **measured, "source": "run"}


def random_policy(task: str, episodes: int) -> tuple[float, float]:
    """(mean return, mean episode length) of uniform random actions on the evaluation seeds."""
    rng = np.random.default_rng(0)
    action_shape = make_env(task, seed=0).action_space.shape
    policy = lambda obs: rng.uniform(-1, 1, (obs.shape[0], *action_shape)).astype(np.float32)  # noqa: E731
    results = run_episodes(policy, task, list(range(10**6, 10**6 + episodes)))
    return float(np.mean([r["return"] for r in results])), float(np.mean([r["length"] for r in results]))


def flow_against_mlp(df: pd.DataFrame) -> pd.DataFrame:
    """Per task and flow variant, the issue's goal checked with the report's own rules
    (pwm.report.stats): is flow's mean return inside the MLP's interval over seeds or above it (above
    the MLP's return where one seed gives no interval), and the difference of means with its
    interval and verdict."""
    rows = []
    for (task, variant), flow in df[df.variant != "mlp"].groupby(["task", "variant"], sort=False):
        mlp = df.loc[(df.task == task) & (df.variant == "mlp"), "eval_return"]
        if mlp.notna().sum() == 0:
            continue
        baseline, delta = stats.mean_interval(mlp), stats.difference_interval(flow.eval_return, mlp)
        floor = baseline.low if np.isfinite(baseline.low) else baseline.estimate
        rows.append({"task": task, "variant": variant, "flow": flow.eval_return.mean(), "mlp": baseline.estimate,
                     "mlp_low": baseline.low, "mlp_high": baseline.high,
                     "within_or_above": bool(flow.eval_return.mean() >= floor), "difference": delta.estimate,
                     "diff_low": delta.low, "diff_high": delta.high, "interval": delta.label(0.95),
                     "verdict": stats.verdict(delta)})
    return pd.DataFrame(rows)


def agent_steps_per_epoch(overrides: list[str]) -> int:
    """Environments x steps per epoch, as the last of the overrides that set them leave them."""
    settings = {"env.num_envs": NUM_ENVS, "env.steps_per_epoch": STEPS_PER_EPOCH}
    for override in overrides:
        key, _, value = override.partition("=")
        if key in settings:
            settings[key] = int(value)
    return settings["env.num_envs"] * settings["env.steps_per_epoch"]


def plan(args) -> list[dict]:
    per_epoch = agent_steps_per_epoch([*RECIPE, *args.overrides])
    epochs = args.agent_steps // per_epoch
    jobs = []
    for task in args.tasks:
        for variant in args.variants:
            if args.variants_everywhere is False and VARIANT_TASKS[variant] and task not in VARIANT_TASKS[variant]:
                continue
            for seed in args.seeds or TASK_SEEDS.get(task, [1, 2, 3]):
                run_dir = args.out / args.label / task / variant / f"seed{seed}"
                run_dir.parent.mkdir(parents=True, exist_ok=True)
                overrides = [f"task={task}", f"seed={seed}", f"epochs={epochs}",
                             f"checkpoint_every={max(1, epochs // 4)}", *RECIPE, *VARIANTS[variant], *args.overrides]
                jobs.append({"label": args.label, "task": task, "variant": variant, "seed": seed, "run_dir": run_dir,
                             "overrides": overrides, "agent_steps": epochs * per_epoch})
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent-steps", type=int, default=100_000, help="per run; frames = agent steps x action repeat")
    parser.add_argument("--tasks", nargs="+", default=list(TASK_SEEDS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 3 seeds on dm_control, 2 on gymnasium")
    parser.add_argument("--all-variants-everywhere", dest="variants_everywhere", action="store_true",
                        help="run every variant on every task (default: flow-euler-k4 on cartpole only)")
    parser.add_argument("--workers", type=int, default=2, help="runs trained at once (1 torch thread each)")
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes of the final checkpoint")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/learning"))
    parser.add_argument("--label", default="default", help="subfolder of --out: one per ablation setting")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra pwm-train key=value settings")
    args = parser.parse_args()
    jobs, records = plan(args), Records("learning")
    started = time.monotonic()
    with ThreadPoolExecutor(args.workers) as pool:
        df = pd.DataFrame(list(pool.map(lambda job: finished_run(job, args.episodes, records), jobs)))
    randoms = {task: random_policy(task, args.episodes) for task in args.tasks}
    summary = df.groupby(["task", "variant"], sort=False).agg(
        mean=("eval_return", "mean"), min=("eval_return", "min"), max=("eval_return", "max"),
        seeds=("seed", "count"), eval_length=("eval_length", "mean"),
        cpu_min_per_100k=("cpu_min_per_100k", "mean")).reset_index()
    summary["random_return"] = summary["task"].map(lambda t: randoms[t][0])
    summary["random_length"] = summary["task"].map(lambda t: randoms[t][1])
    pd.set_option("display.width", 200)
    steps = jobs[0]["agent_steps"] if jobs else 0
    print(f"[{args.label}] {steps} agent steps per run ({', '.join(f'{t}: {steps * default_action_repeat(t)} frames' for t in args.tasks)}); "
          f"eval: {args.episodes} episodes of the final checkpoint, deterministic policy; overrides: {args.overrides}")
    print(df.to_string(index=False, float_format="%.1f"))
    print(summary.to_string(index=False, float_format="%.1f"))
    comparison = flow_against_mlp(df)
    if not comparison.empty:
        print("flow against the MLP (interval over seeds, pwm.report.stats):")
        print(comparison.to_string(index=False, float_format="%.1f"))
    print(f"wall time of this invocation: {time.monotonic() - started:.0f}s with {args.workers} workers")


if __name__ == "__main__":
    main()
