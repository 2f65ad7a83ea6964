"""What a sweep will cost, before it is submitted: each configuration's preflight job times a
few real learning epochs on the device its train jobs get (results/preflight/*.json,
`seconds_per_epoch`); times the planned epochs that is the projected wall time of one run.

A train job that would need more than its SLURM runtime over all attempts is flagged at DAG
build: attempt k asks for k x runtime (the workflow scales runtime with the attempt) and resumes
from the last checkpoint, so `retries` retries cover runtime x (1 + 2 + ... + (retries + 1)).
"""
import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pwm.pipeline.sweep import Sweep

PREFLIGHT = "results/preflight/{task}/{size}/{variant}.json"


def covered_minutes(runtime: float, retries: int) -> float:
    return runtime * sum(range(1, retries + 2))


def projection(sweep: Sweep, resources: Mapping, retries: int, root: Path = Path(".")) -> pd.DataFrame:
    """One row per configuration: seconds per epoch (NaN until its preflight has run), projected
    hours per run and for all its seeds, CPU or GPU, and whether the SLURM runtime covers a run."""
    rows = []
    for task in sweep.tasks:
        for size in sweep.sizes:
            for variant in sweep.variants:
                path = root / PREFLIGHT.format(task=task, size=size, variant=variant.name)
                seconds = _seconds_per_epoch(path)
                hours = seconds * sweep.budgets[size].epochs / 3600
                runtime = resources["train"]["runtime"][size]
                rows.append({"task": task, "size": size, "variant": variant.name, "seconds_per_epoch": seconds,
                             "hours_per_run": hours, "seeds": len(sweep.seeds), "hours": hours * len(sweep.seeds),
                             "gpu": resources["train"]["gpu"][size] > 0, "runtime_minutes": runtime,
                             "covered": math.isnan(hours) or hours * 60 <= covered_minutes(runtime, retries)})
    return pd.DataFrame(rows)


def _seconds_per_epoch(path: Path) -> float:
    try:
        value = json.loads(path.read_text()).get("seconds_per_epoch")
    except (OSError, ValueError):
        return float("nan")
    return float(value) if value is not None else float("nan")


def summary(table: pd.DataFrame, retries: int) -> list[str]:
    """Plain lines for the DAG-build log: totals, then every train job the runtime cannot cover."""
    timed = table.dropna(subset=["seconds_per_epoch"])
    if timed.empty:
        return []
    gpu_hours, cpu_hours = timed.loc[timed.gpu, "hours"].sum(), timed.loc[~timed.gpu, "hours"].sum()
    lines = [f"projected cost ({len(timed)} of {len(table)} configurations timed by their preflight): "
             f"{timed.seeds.sum()} runs, {cpu_hours:.1f} CPU-job hours + {gpu_hours:.1f} GPU hours; "
             f"per run {timed.hours_per_run.min():.2f} to {timed.hours_per_run.max():.2f} h"]
    for row in timed[~timed.covered].itertuples():
        lines.append(f"WARNING: train {row.task}/{row.size}/{row.variant} is projected at {row.hours_per_run:.1f} h "
                     f"per run, more than its runtime of {row.runtime_minutes} min covers over {retries + 1} "
                     f"attempts ({covered_minutes(row.runtime_minutes, retries) / 60:.1f} h): raise "
                     f"resources.train.runtime.{row.size} or retries")
    return lines
