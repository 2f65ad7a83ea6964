"""Multi-task results: per-task returns of the policies learned through each multi-task world
model, the normalised score over the task set (return / 1,000 on dm_control, averaged over the
set's tasks, then over seeds with a bootstrap interval), and multi-task against single-task for
the same task, size and dynamics.

The workflow passes one record per planned policy: (task_set, task, size, variant, seed), its
folder, planned epochs and evaluation files."""
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.pipeline.layout import Layout
from pwm.results.collect import read_multitask_folder
from pwm.results.schemas import MULTITASK, MULTITASK_SUMMARY
from pwm.report.stats import difference_interval, mean_interval, verdict
from pwm.pipeline.tasks import max_return


def policy_rows(records: Iterable[Mapping], now: float, settings: Mapping) -> pd.DataFrame:
    """One row per planned policy: outcome and final evaluated return (NaN until evaluated), read
    as pwm-status reads multi-task folders (pwm.results.collect.read_multitask_folder)."""
    rows = []
    for r in records:
        folder = Path(r["run_dir"])  # results/multitask/{task_set}/{size}/{variant}/seed{seed}/policy/{task}
        found = {"stage": "policy", **{key: r[key] for key in ("task_set", "size", "variant", "seed", "task")},
                 "folder": folder}
        row, _ = read_multitask_folder(Layout.of(folder.parents[6]), found, settings, now, r["epochs"])
        norm = max_return(r["task"])
        rows.append({**row, "reason": row["note"], "run_dir": str(folder),
                     "normalised_score": row["final_eval_return"] / norm if norm else np.nan})
    return pd.DataFrame(rows, columns=[c for c in MULTITASK if c != "single_task_return"])


def with_single_task(rows: pd.DataFrame, single_runs: pd.DataFrame) -> pd.DataFrame:
    """Adds the mean over seeds of the single-task final evaluated return of the same task,
    size and variant (NaN where the sweep has no such single-task run)."""
    single = (single_runs.groupby(["task", "size", "variant"])["final_eval_return"].mean()
              .rename("single_task_return").reset_index())
    return rows.merge(single, on=["task", "size", "variant"], how="left")[list(MULTITASK)]


def _seed_scores(frame: pd.DataFrame, tasks: list[str]) -> np.ndarray:
    """Per seed, the mean over `tasks` of return / max return; seeds missing a task are dropped."""
    frame = frame[frame["task"].isin(tasks)]
    score = frame["final_eval_return"] / frame["task"].map(max_return).astype(float)
    per_seed = score.groupby(frame["seed"]).agg(["mean", "count"])
    return per_seed.loc[per_seed["count"] == len(tasks), "mean"].dropna().to_numpy()


def summarize(rows: pd.DataFrame, single_runs: pd.DataFrame, level: float, resamples: int) -> pd.DataFrame:
    """Per (task_set, size, variant): the normalised score (mean over the set's tasks, per seed),
    its interval over seeds, the same score of the single-task runs of those tasks (same size
    and variant), and the difference with its verdict."""
    out = []
    for (task_set, size, variant), group in rows.groupby(["task_set", "size", "variant"], sort=True):
        tasks = sorted(group["task"].unique())
        multi = _seed_scores(group, tasks)
        single = _seed_scores(single_runs[(single_runs["size"] == size) & (single_runs["variant"] == variant)], tasks)
        score, single_score = mean_interval(multi, level, resamples), mean_interval(single, level, resamples)
        delta = difference_interval(multi, single, level, resamples)
        out.append({"task_set": task_set, "size": size, "variant": variant, "tasks": len(tasks),
                    "n_seeds": len(multi), "score": score.estimate, "score_ci_low": score.low,
                    "score_ci_high": score.high, "single_task_seeds": len(single),
                    "single_task_score": single_score.estimate, "delta_vs_single_task": delta.estimate,
                    "delta_ci_low": delta.low, "delta_ci_high": delta.high,
                    "verdict": verdict(delta) if len(single) else "no single-task runs of every task"})
    return pd.DataFrame(out, columns=list(MULTITASK_SUMMARY))


def aggregate_multitask(records: Iterable[Mapping], runs: pd.DataFrame, outputs: Mapping[str, str],
                        settings: Mapping, now: float) -> dict[str, pd.DataFrame]:
    """Write multitask.parquet and multitask_summary.parquet to `outputs`."""
    rows = with_single_task(policy_rows(records, now, settings), runs)
    tables = {"multitask": rows,
              "summary": summarize(rows, runs, settings["confidence_level"], settings["bootstrap_resamples"])}
    for name, table in tables.items():
        Path(outputs[name]).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(outputs[name], index=False)
    return tables
