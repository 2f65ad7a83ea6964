"""Everything the sweep produced, as five parquet tables (columns documented in schemas).

The workflow passes one record per planned run: its identity, folder, planned epochs and the
evaluation files that exist for it. Runs that never started, are still going, diverged or failed
are included from their live folders, so the tables describe the sweep as it is.
"""
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.results import files as rundir
from pwm.report.leaderboard import build_leaderboard, status_counts
from pwm.results.schemas import EVALUATIONS, IDENTITY, RUNS, TRAINING
from pwm.pipeline.sweep import Variant


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
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[c for c in EVALUATIONS if c != "final"])
    return pd.concat(frames, ignore_index=True)


def _training_summary(metrics: pd.DataFrame, collapse_drop: float) -> dict:
    if "episode_return" not in metrics:
        return rundir.training_summary(np.empty(0), np.empty(0), collapse_drop)[0]
    return rundir.training_summary(metrics["epoch"].to_numpy(), metrics["episode_return"].to_numpy(), collapse_drop)[0]


def summarize_run(record: Mapping, status: dict | None, metrics: pd.DataFrame, evaluations: pd.DataFrame,
                  settings: Mapping, now: datetime) -> dict:
    """One row of runs.parquet."""
    variant = Variant.parse(record["variant"])
    state = rundir.outcome(status, Path(record["run_dir"]), now, settings["stale_after_minutes"])
    status = status or {}
    return {
        **_identity(record),
        "kind": variant.kind, "integrator": variant.integrator or "", "substeps": variant.substeps or 0,
        "outcome": state, "reason": status.get("reason") or "",
        **rundir.progress_summary(status, metrics, record["epochs"], state),
        **_training_summary(metrics, settings["collapse_drop"]),
        **rundir.evaluation_summary(evaluations, record["epochs"]),
        **rundir.read_param_counts(Path(record["run_dir"])),
        "host": status.get("host") or "", "slurm_job_id": status.get("slurm_job_id") or "",
        "updated": status.get("updated") or "", "run_dir": record["run_dir"],
    }


def collect(records: Iterable[Mapping], settings: Mapping, now: datetime) -> dict[str, pd.DataFrame]:
    """training, evaluations and runs tables for the planned runs in `records`."""
    training, evaluations, summaries = [], [], []
    for record in records:
        run_dir = Path(record["run_dir"])
        status, metrics = rundir.read_status(run_dir), rundir.read_metrics(run_dir)
        evals = read_evaluations(record)
        evals["final"] = evals["checkpoint_epoch"] == record["epochs"]
        summaries.append(summarize_run(record, status, metrics, evals, settings, now))
        if len(metrics):
            training.append(metrics.assign(**_identity(record)))
        if len(evals):
            evaluations.append(evals)
    training = pd.concat(training, ignore_index=True) if training else pd.DataFrame(columns=list(TRAINING))
    extra = [c for c in training.columns if c not in TRAINING]
    evaluations = (pd.concat(evaluations, ignore_index=True) if evaluations
                   else pd.DataFrame(columns=list(EVALUATIONS)))
    return {"training": training[[*TRAINING, *extra]],
            "evaluations": evaluations[list(EVALUATIONS)],
            "runs": pd.DataFrame(summaries, columns=list(RUNS))}


def aggregate(records: Iterable[Mapping], outputs: Mapping[str, str], settings: Mapping,
              now: datetime | None = None) -> dict[str, pd.DataFrame]:
    """Write training, evaluations, runs, leaderboard and status parquet files to `outputs`."""
    tables = collect(records, settings, now or datetime.now(timezone.utc))
    tables["leaderboard"] = build_leaderboard(tables["runs"], settings["confidence_level"],
                                              settings["bootstrap_resamples"])
    tables["status"] = status_counts(tables["runs"])
    for name, table in tables.items():
        Path(outputs[name]).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(outputs[name], index=False)
    return tables
