"""Time pwm-status on a sweep of 3,000 runs of 20,000 epochs each (generated), against the
goal of 10 s; exit 1 if it fails or takes a minute or more.

    python benchmarks/status_scale.py [--root DIR] [--keep] [--seeds 10] [--repeats 3]

The sweep: 19 dm_control tasks + Ant-v5, sizes 1M / 5M / 48M, mlp + flow heun K=2,4 + euler
K=2,8, 10 seeds = 3,000 runs; checkpoints every 5,000 epochs, each evaluated (12,000 evaluation
files). Most runs completed; some are running (partial metrics), collapsed, diverged, failed
(a traceback in the log) or never started. metrics.parquet has pwm-train's columns (22), one row
per epoch, a return every 63rd epoch (a dm_control episode is 500 agent steps, 8 per epoch).

Writing 60 million rows through pandas would take minutes, so a few dozen distinct metrics
tables are encoded to parquet once and their bytes written to every run folder (real copies,
not links: each run's file is read from its own pages, as on a real results directory). The
generated directory takes about 3 GB; it is deleted afterwards unless --keep.
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from pwm.envs.registry import DMC_TASKS
from pwm.run_dir import STATUS_TIME

EPOCHS, EVERY, EPISODE_EPOCHS, EPISODES = 20_000, 5_000, 63, 10
DMC = list(DMC_TASKS)  # the 19 stock dm_control tasks
SIZES = ["1M", "5M", "48M"]
VARIANTS = ["mlp", "flow-heun-k2", "flow-heun-k4", "flow-euler-k2", "flow-euler-k8"]
DIAGNOSTICS = ["lr/actor", "lr/critic", "lr/model", "loss/dynamics", "loss/reward", "loss/world_model",
               "grad_norm/world_model", "loss/actor", "grad_norm/actor", "imagined/reward_mean",
               "imagined/reward_std", "imagined/return_mean", "loss/critic", "grad_norm/critic",
               "actor/log_std", "value/target_mean"]
GOAL_S = 10  # seconds, on a 2-core machine
SHAPES = 24  # distinct training curves; every run gets one of them


def config(seeds: int) -> dict:
    return {"tasks": [*DMC, "Ant-v5"], "sizes": SIZES, "seeds": list(range(1, seeds + 1)),
            "dynamics": [{"kind": "mlp"}, {"kind": "flow", "integrator": "heun", "substeps": [2, 4]},
                         {"kind": "flow", "integrator": "euler", "substeps": [2, 8]}],
            "budgets": {s: {"epochs": EPOCHS, "checkpoint_every": EVERY, "overrides": {}} for s in SIZES},
            "train_overrides": {}}


def metrics_table(shape: int) -> pa.Table:
    """pwm-train's metrics columns; even shapes learn, odd ones collapse after a third of training."""
    rng = np.random.default_rng(shape)
    epoch = np.arange(1, EPOCHS + 1)
    level = 900 * (1 - np.exp(-epoch / 4000)) + rng.normal(0, 40, EPOCHS)
    if shape % 2:
        level = np.where(epoch > EPOCHS // 3, 30 + rng.normal(0, 5, EPOCHS), level)
    finished = epoch % EPISODE_EPOCHS == 0
    columns = {"epoch": epoch, "env_steps": epoch * 256, "wall_s": np.cumsum(rng.uniform(1.2, 1.4, EPOCHS)),
               "episode_return": np.where(finished, level, np.nan), "episodes_finished": finished * 16,
               "learning": epoch > 20}
    for i, name in enumerate(DIAGNOSTICS):  # three decimals: pwm-train's values, but compressible
        columns[name] = np.round(np.abs(np.sin(epoch / (500 + 37 * i))) * 10 + rng.normal(0, 0.1, EPOCHS), 3)
    return pa.table(columns)


def encoded(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)  # pandas' defaults (snappy), as pwm-train writes it
    return buffer.getvalue()


def evaluation_bytes(identity: dict, epoch: int, mean: float, rng) -> bytes:
    rows = {**{k: [v] * EPISODES for k, v in identity.items()}, "checkpoint_epoch": [epoch] * EPISODES,
            "env_steps": [epoch * 256] * EPISODES, "episode": list(range(EPISODES)),
            "eval_seed": list(range(1_000_000, 1_000_000 + EPISODES)),
            "return": list(mean + rng.normal(0, 60, EPISODES)), "length": [500] * EPISODES}
    return encoded(pa.table(rows))


def fate(index: int) -> str:
    """Mostly completed; every 10th run running, every 30th diverged, failed or not started."""
    return {0: "running", 3: "running", 7: "diverged", 13: "failed", 23: "pending"}.get(index % 30, "completed")


def write_run(results: Path, identity: dict, state: str, shape: int, full: list[bytes], partial: list[bytes],
              rng) -> None:
    task, size, variant, seed = identity.values()
    run = results / "runs" / task / size / variant / f"seed{seed}"
    log = results / "logs" / "train" / task / size / variant / f"seed{seed}.log"
    if state == "pending":
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    if state == "failed":
        log.write_text("Traceback (most recent call last):\n  File \"/opt/pwm/cli.py\", line 18, in <module>\n"
                       "    from envs import make_env\nModuleNotFoundError: No module named 'envs'\n")
        return
    run.mkdir(parents=True)
    done = state == "completed"
    reached = EPOCHS if done else EPOCHS // 2
    (run / "metrics.parquet").write_bytes(full[shape] if done else partial[shape])
    status = {"state": state, "reason": None, "epoch": reached, "epochs": EPOCHS, **identity, "host": "node1",
              "pid": 1, "slurm_job_id": str(100000 + seed), "updated": time.strftime(STATUS_TIME)}
    if state == "diverged":
        status.update(reason="non-finite loss/actor", loss="loss/actor", diverged_at_epoch=reached + 1)
    (run / "status.json").write_text(json.dumps(status))
    if done:
        (run / "final").mkdir()
        os.link(run / "metrics.parquet", run / "final" / "metrics.parquet")  # the same bytes, read once
        (run / "final" / "status.json").write_text(json.dumps(status))
    evaluations = results / "evaluations" / task / size / variant / f"seed{seed}"
    evaluations.mkdir(parents=True)
    for epoch in range(EVERY, reached + 1, EVERY):
        mean = 900 * (1 - np.exp(-epoch / 4000)) * (0.3 if shape % 2 and epoch > EPOCHS // 3 else 1)
        (evaluations / f"epoch{epoch}.parquet").write_bytes(evaluation_bytes(identity, epoch, mean, rng))


def generate(root: Path, seeds: int) -> Path:
    tables = [metrics_table(shape) for shape in range(SHAPES)]
    full = [encoded(t) for t in tables]
    partial = [encoded(t.slice(0, EPOCHS // 2)) for t in tables]
    results, sweep, rng = root / "results", config(seeds), np.random.default_rng(0)
    index = 0
    for task in sweep["tasks"]:
        for size in SIZES:
            for variant in VARIANTS:
                for seed in sweep["seeds"]:
                    identity = {"task": task, "size": size, "variant": variant, "seed": seed}
                    write_run(results, identity, fate(index), index % SHAPES, full, partial, rng)
                    index += 1
    (root / "config.yaml").write_text(yaml.safe_dump(sweep))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="where to generate (default: a new temporary folder)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per configuration (10: 3,000 runs)")
    parser.add_argument("--keep", action="store_true", help="keep the generated results directory")
    parser.add_argument("--repeats", type=int, default=3,
                        help="pwm-status calls; the median is judged (a shared machine's speed varies by call)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: must be 1 or more")
    root = args.root or Path(tempfile.mkdtemp(prefix="pwm-status-scale-"))
    try:
        started = time.perf_counter()
        results = generate(root, args.seeds)
        runs = len(DMC + ["Ant-v5"]) * len(SIZES) * len(VARIANTS) * args.seeds
        print(f"generated {runs} runs x {EPOCHS} epochs in {time.perf_counter() - started:.0f} s under {root}")
        os.sync()  # the generator's dirty pages are written back now, not while pwm-status is timed
        status = Path(sys.executable).with_name("pwm-status")
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            done = subprocess.run([str(status), str(results), "--config", str(root / "config.yaml")],
                                  capture_output=True, text=True)
            seconds.append(time.perf_counter() - started)
            if done.returncode != 0:
                break
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        median = float(np.median(seconds))
        goal = "met" if median < GOAL_S else "not met"
        print(f"pwm-status on {runs} runs x {EPOCHS} epochs: {', '.join(f'{s:.1f}' for s in seconds)} s, median "
              f"{median:.1f} s (exit {done.returncode}); goal {GOAL_S} s: {goal}")
        return 0 if done.returncode == 0 and median < 60 else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
