"""Evaluated returns: pwm-eval's files read into one row per (run, checkpoint), and what each
run's row in the report needs from them.

Only the `return` column is read; the checkpoint epoch is in the file name (the workflow writes
`seed{seed}/epoch{E}.parquet`). A sweep of 3,000 runs has tens of thousands of these files, so
the per-file cost is all that matters, and the summaries are computed in one grouped pass over
all runs rather than run by run.

Best checkpoint = highest mean over episodes (optimistic: selected on the episodes it is scored
on); final = the checkpoint of the last planned epoch, the one the leaderboard ranks (and
final_return's, for multi-task policies); latest = the newest evaluated checkpoint, compared with
the baseline's seeds at the same checkpoint while runs are still going.
"""
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pwm.pipeline.sweep import Run
from pwm.pipeline.layout import Layout

_FILE = re.compile(r"^epoch(\d+)\.parquet$")
IDENTITY = ["task", "size", "variant", "seed"]


def read_returns(path: str) -> tuple[np.ndarray | None, str]:
    """The `return` column of one evaluation file; or None and why it could not be read. Read
    without pre-buffering: the file is a few kB, and skipping pyarrow's read planning makes a read
    ~30% cheaper."""
    try:
        with pa.OSFile(path) as handle:
            table = pq.ParquetFile(handle, pre_buffer=False).read(columns=["return"], use_threads=False)
        return table.column(0).to_numpy(), ""
    except (OSError, pa.ArrowException, KeyError) as err:
        return None, f"unreadable {os.path.basename(path)}: {err}"


def _mean(returns: np.ndarray) -> float:
    """Mean over episodes; NaN for a file without episodes."""
    return float(np.mean(returns)) if len(returns) else np.nan


def read(layout: Layout, runs: Iterable[Run]) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One row per evaluated checkpoint: identity, checkpoint_epoch, return (mean), episodes;
    and the files that could not be read (path, why), which are left out."""
    columns = {key: [] for key in (*IDENTITY, "checkpoint_epoch", "return", "episodes")}
    unreadable = []
    for run in runs:
        try:
            entries = list(os.scandir(layout.evaluation_dir(run)))
        except FileNotFoundError:
            continue
        for entry in entries:
            match = _FILE.match(entry.name)
            if match is None:
                continue
            returns, why = read_returns(entry.path)
            if returns is None:
                unreadable.append((entry.path, why))
                continue
            for key, value in run.identity().items():
                columns[key].append(value)
            columns["checkpoint_epoch"].append(int(match[1]))
            columns["return"].append(_mean(returns))
            columns["episodes"].append(len(returns))
    return pd.DataFrame(columns), unreadable


def summarize(evaluations: pd.DataFrame, planned: pd.DataFrame) -> pd.DataFrame:
    """Per run in `planned` (identity + epochs): evaluated_checkpoints, best_eval_return,
    best_eval_epoch, final_eval_return, latest_eval_epoch, latest_eval_return, and the delta of
    the latest to the mean of the mlp seeds (same task and size) at that checkpoint."""
    out = planned[IDENTITY].copy()
    empty = {"evaluated_checkpoints": 0, "best_eval_return": np.nan, "best_eval_epoch": np.nan,
             "final_eval_return": np.nan, "latest_eval_epoch": np.nan, "latest_eval_return": np.nan,
             "latest_delta_vs_mlp": np.nan, "baseline_seeds": 0}
    if evaluations.empty:
        return out.assign(**empty)
    by_run = evaluations.groupby(IDENTITY, sort=False)
    scored = evaluations.dropna(subset=["return"])  # a file without episodes has no mean
    best = scored.loc[scored.groupby(IDENTITY, sort=False)["return"].idxmax()]
    latest = evaluations.loc[by_run["checkpoint_epoch"].idxmax()]
    with_epochs = evaluations.merge(planned[[*IDENTITY, "epochs"]], on=IDENTITY)
    final = with_epochs[with_epochs.checkpoint_epoch == with_epochs.epochs]
    baseline = (evaluations[evaluations.variant == "mlp"].groupby(["task", "size", "checkpoint_epoch"])["return"]
                .agg(baseline_return="mean", baseline_seeds="count").reset_index())
    latest = latest.merge(baseline, on=["task", "size", "checkpoint_epoch"], how="left")
    parts = [
        by_run.size().rename("evaluated_checkpoints").reset_index(),
        best[[*IDENTITY, "return", "checkpoint_epoch"]].rename(
            columns={"return": "best_eval_return", "checkpoint_epoch": "best_eval_epoch"}),
        final[[*IDENTITY, "return"]].rename(columns={"return": "final_eval_return"}),
        latest.assign(latest_delta_vs_mlp=latest["return"] - latest.baseline_return)[
            [*IDENTITY, "checkpoint_epoch", "return", "latest_delta_vs_mlp", "baseline_seeds"]].rename(
            columns={"checkpoint_epoch": "latest_eval_epoch", "return": "latest_eval_return"}),
    ]
    for part in parts:
        out = out.merge(part, on=IDENTITY, how="left")
    return out.fillna({"evaluated_checkpoints": 0, "baseline_seeds": 0}).astype(
        {"evaluated_checkpoints": int, "baseline_seeds": int})


def final_return(folder: Path, final_epoch: int) -> tuple[float, list[tuple[str, str]]]:
    """The mean return in `folder`/epoch{final_epoch}.parquet (NaN when not evaluated yet), and the
    file if it could not be read."""
    path = Path(folder) / f"epoch{final_epoch}.parquet"
    if not final_epoch or not path.exists():
        return np.nan, []
    returns, why = read_returns(str(path))
    return (np.nan, [(str(path), why)]) if returns is None else (_mean(returns), [])
