"""Everything the sweep produced, as five parquet tables (columns documented in
pwm.results.schemas).

The workflow passes one record per planned run: its identity, folder, planned epochs and the
evaluation files that exist for it. The runs table is pwm.results.collect's, the same rows
pwm-status shows (one outcome rule, one ETA rule); training and evaluations hold every logged
epoch and every evaluated episode for the figures.
"""
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import Run, Variant
from pwm.report.leaderboard import build_leaderboard, status_counts
from pwm.results import files
from pwm.results.collect import collect as collect_runs
from pwm.results.schemas import EVALUATIONS, IDENTITY, TRAINING


def _identity(record: Mapping) -> dict:
    return {key: record[key] for key in IDENTITY}


def read_evaluations(record: Mapping) -> pd.DataFrame:
    """A run's evaluation files, checked against the run they were planned for."""
    frames = []
    for path in record["evaluations"]:
        frame = pd.read_parquet(path)
        for key, value in _identity(record).items():
            if not (frame[key] == value).all():
                raise ValueError(f"{path}: column {key} holds {sorted(frame[key].unique().tolist())}, "
                                 f"but the file belongs to the run with {key}={value!r}")
        frames.append(frame.assign(final=frame["checkpoint_epoch"] == record["epochs"]))
    if not frames:
        return pd.DataFrame(columns=list(EVALUATIONS))
    return pd.concat(frames, ignore_index=True)


def results_root(records: list[Mapping]) -> Path:
    """The results directory the records' run folders are in (results/runs/task/size/variant/seedN)."""
    return Path(records[0]["run_dir"]).parents[4] if records else Path("results")


def collect(records: Iterable[Mapping], settings: Mapping, now: float) -> dict[str, pd.DataFrame]:
    """training, evaluations and runs tables for the planned runs in `records`."""
    records = list(records)
    plan = {Run(r["task"], r["size"], Variant.parse(r["variant"]), int(r["seed"])): r["epochs"] for r in records}
    runs = collect_runs(Layout.of(results_root(records)), plan, settings, now, discover=False).runs
    training, evaluations = [], []
    for record in records:
        metrics = files.read_metrics(Path(record["run_dir"]))
        if len(metrics):
            training.append(metrics.assign(**_identity(record)))
        evals = read_evaluations(record)
        if len(evals):
            evaluations.append(evals)
    training = pd.concat(training, ignore_index=True) if training else pd.DataFrame(columns=list(TRAINING))
    extra = [c for c in training.columns if c not in TRAINING]
    evaluations = (pd.concat(evaluations, ignore_index=True) if evaluations
                   else pd.DataFrame(columns=list(EVALUATIONS)))
    return {"training": training[[*TRAINING, *extra]], "evaluations": evaluations[list(EVALUATIONS)], "runs": runs}


def aggregate(records: Iterable[Mapping], outputs: Mapping[str, str], settings: Mapping,
              now: float | None = None) -> dict[str, pd.DataFrame]:
    """Write training, evaluations, runs, leaderboard and status parquet files to `outputs`."""
    tables = collect(records, settings, time.time() if now is None else now)
    tables["leaderboard"] = build_leaderboard(tables["runs"], settings["confidence_level"],
                                              settings["bootstrap_resamples"])
    tables["status"] = status_counts(tables["runs"])
    for name, table in tables.items():
        Path(outputs[name]).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(outputs[name], index=False)
    return tables
