"""One row per run: where it stands, its training diagnostics and its evaluations, read from a
results directory that runs are still writing to. Nothing is written.

The runs are the planned ones (sweep config) and those found on disk. Per run only what the
report needs is read: status.json, one or two columns of metrics.parquet (pwm.results.metrics),
its evaluation files, and the tail of its logs when it failed or went silent (pwm.results.jobs). Summaries are
computed with numpy on the arrays just read: per-run pandas frames and pwm.results.files'
pandas summaries cost ~2 ms a run, seconds on a 3,000-run sweep.
"""
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import Run, size_value
from pwm.results import evaluations, health, jobs, metrics
from pwm.results.curves import Curve, bin_curve
from pwm.results.failures import Failure, from_reason
from pwm.results.files import (UnreadableFile, metrics_path, read_clips, read_param_counts, read_status,
                               training_summary)
from pwm.results.schemas import RUNS

MULTITASK_RUNS = ["stage", "task_set", "task", "size", "variant", "seed", "outcome", "note", "epoch", "epochs",
                  "progress", "wall_s", "eta_s", "final_eval_return", "host"]


PARALLEL_FROM = 500  # runs per worker process; below it, starting workers costs more than it saves
MAX_WORKERS = 8  # a login node's cores are shared, and more readers would only queue on its disks


class NothingToReport(RuntimeError):
    """No run is planned and none is on disk."""


@dataclass(frozen=True)
class Snapshot:
    """The sweep as it stands: a row per run (columns: pwm.results.schemas.RUNS), learning
    curves, every failure with who had it, and the files that could not be used (path, why)."""

    runs: pd.DataFrame
    curves: dict[Run, Curve]
    failures: list[tuple[str, Failure]]
    unreadable: list[tuple[str, str]]
    multitask: pd.DataFrame  # world models and per-task policies (columns MULTITASK_RUNS)
    evaluations: pd.DataFrame  # one row per evaluated checkpoint: identity, checkpoint_epoch, env_steps, return
    clips: list[dict]  # policy clips found (pwm.results.files.read_clips)


def run_name(run: Run) -> str:
    return f"{run.task}/{run.size}/{run.variant.name}/seed{run.seed}"


def run_order(run: Run) -> tuple:
    """Task, then size by parameter count, then the baseline before flow variants, then seed."""
    return run.task, size_value(run.size), run.variant.kind != "mlp", run.variant, run.seed


def _outcome(layout: Layout, run: Run, status: dict | None, age_s: float, settings: Mapping,
             preflight: Mapping) -> tuple[str, str, Failure | None]:
    """The one outcome rule: (outcome, note, failure). status.json decides (health.status_outcome,
    whose note says why a run is stale or its state unknown); a run without one failed if its
    logs or its configuration's preflight end in a failure, a stale run failed if its logs say
    why, and a failed run's cause comes from its logs."""
    state, note = health.status_outcome(status, age_s, 60 * settings["stale_after_minutes"], socket.gethostname())
    if status is None:
        failure = jobs.run_failure(layout, run) or preflight.get((run.task, run.size, run.variant.name))
        return ("failed", "", failure) if failure else ("pending", "", None)
    if state == "stale":
        failure = jobs.run_failure(layout, run)
        return ("failed", note, failure) if failure else ("stale", note, None)
    if state == "failed":
        reason = from_reason(status.get("reason") or "unknown: status.json gives no reason",
                             str(layout.run_dir(run) / "status.json"))
        return "failed", "", jobs.run_failure(layout, run) or reason
    if state == "diverged":
        note = f"non-finite {status.get('loss')} at epoch {status.get('diverged_at_epoch')}"
    return state, note, None


def _training(m: metrics.Metrics, epochs: float, state: str, drop: float) -> dict:
    """Progress, pace and training-return diagnostics."""
    finite = np.isfinite(m.episode_return)
    r, e = m.episode_return[finite], m.epoch[finite]
    summary, c = training_summary(m.epoch, m.episode_return, drop)
    eta = health.eta_s(m.epoch, m.wall_s, epochs) if state == "running" and m.wall_s is not None else np.nan
    return {"epoch": int(m.epoch[-1]) if len(m.epoch) else 0, "wall_s": m.wall_total, "cpu_s": m.cpu_total,
            "env_steps": m.epoch[-1] * m.steps_per_epoch if len(m.epoch) else np.nan,
            "current_return": r[-1] if len(r) else np.nan, "current_epoch": e[-1] if len(r) else np.nan,
            **summary, "smoothed_peak": c.peak, "smoothed_peak_epoch": c.peak_epoch, "eta_s": eta}


def _number(value) -> float:
    """A status field as a number (NaN when absent or not a number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


def read_folder(folder: Path, now: float) -> tuple[dict | None, Path | None, float, list[tuple[str, str]]]:
    """What any pwm run folder says of itself: its status (None when absent or unreadable), its
    metrics file, the seconds since its last sign of life, and the files that could not be used."""
    unreadable = []
    try:
        status = read_status(folder)
    except UnreadableFile as err:
        status = None
        unreadable.append((str(folder / "status.json"), str(err)))
    if status and status.get("updated") is not None and health.updated_time(status) is None:
        unreadable.append((str(folder / "status.json"), f"unreadable status.json: updated {status['updated']!r} is "
                           "not a time as pwm-train writes it; the heartbeat is metrics.parquet's"))
    path = metrics_path(folder)
    age = now - health.heartbeat(status, path.stat().st_mtime if path else None) if status else np.nan
    return status, path, age, unreadable


def folder_outcome(status: dict | None, age_s: float, unreadable: list, settings: Mapping) -> tuple[str, str]:
    """(outcome, note) of a folder outside the sweep's logs (multi-task world models and policies):
    unknown when its status.json is unreadable, else what the status says (health.status_outcome)."""
    if status is None and unreadable:
        return "unknown", unreadable[0][1]
    return health.status_outcome(status, age_s, 60 * settings["stale_after_minutes"], socket.gethostname())


def read_metrics(path: Path | None, outcome: str, note: str, unreadable: list) -> tuple[metrics.Metrics, str]:
    """The folder's metrics (with the pace of a running run); an unreadable file is noted."""
    if path:
        try:
            return metrics.read(path, pace=outcome == "running"), note
        except (OSError, pa.ArrowException) as err:
            unreadable.append((str(path), f"unreadable {path.name}: {err}"))
            note = "; ".join(filter(None, [note, unreadable[-1][1]]))
    return metrics.NONE, note


def planned_epochs(planned: int | None, status: dict, m: metrics.Metrics) -> int:
    """The plan's epochs, else the status's, else those reached (0: unknown, never started)."""
    reached = int(m.epoch[-1]) if len(m.epoch) else 0
    epochs = planned or _number(status.get("epochs")) or reached
    return int(epochs) if np.isfinite(epochs) else reached


def read_run(layout: Layout, run: Run, planned: int | None, settings: Mapping, now: float,
             preflight: Mapping) -> tuple[dict, Curve | None, Failure | None, list[tuple[str, str]]]:
    """A run's row, its learning curve (None without metrics), its failure (if it failed) and
    the files of it that could not be used."""
    folder = layout.run_dir(run)
    status, path, age, unreadable = read_folder(folder, now)
    if status is None and unreadable:
        outcome, failure, note = "unknown", None, unreadable[0][1]
    else:
        outcome, note, failure = _outcome(layout, run, status, age, settings, preflight)
    m, note = read_metrics(path, outcome, note, unreadable)
    status = status or {}
    epochs = planned_epochs(planned, status, m)
    row = {**run.identity(), "kind": run.variant.kind, "integrator": run.variant.integrator or "",
           "substeps": run.variant.substeps or 0, "outcome": outcome, "note": note,
           "reason": str(status.get("reason") or ""), "epochs": epochs,
           **_training(m, epochs, outcome, settings["collapse_drop"]),
           "diverged_at_epoch": _number(status.get("diverged_at_epoch")),
           "diverged_loss": str(status.get("loss") or ""),
           **read_param_counts(folder),
           "host": str(status.get("host") or ""), "slurm_job_id": str(status.get("slurm_job_id") or ""),
           "device": str(status.get("device") or ""), "precision": str(status.get("precision") or ""),
           "max_rss_mb": _number(status.get("max_rss_mb")),
           "updated": str(status.get("updated") or ""), "heartbeat_age_s": age, "run_dir": str(folder)}
    row["progress"] = row["epoch"] / epochs if epochs else np.nan
    curve = None
    if row["epoch"] and epochs:
        curve = bin_curve(m.epoch, m.episode_return, row["epoch"], int(epochs), m.steps_per_epoch)
    return row, curve, failure, unreadable


def read_multitask_folder(layout: Layout, found: dict, settings: Mapping, now: float,
                          planned: int | None = None) -> tuple[dict, list[tuple[str, str]]]:
    """A multi-task world model's or per-task policy's row (columns MULTITASK_RUNS): state,
    progress, ETA and (policies) the final evaluated return, from `found` (as
    Layout.multitask_folders gives it); and the files that could not be used."""
    status, path, age, unreadable = read_folder(found["folder"], now)
    outcome, note = folder_outcome(status, age, unreadable, settings)
    m, note = read_metrics(path, outcome, note, unreadable)
    status = status or {}
    epochs = planned_epochs(planned, status, m)
    epoch = int(m.epoch[-1]) if len(m.epoch) else 0
    eta = health.eta_s(m.epoch, m.wall_s, epochs) if outcome == "running" and m.wall_s is not None else np.nan
    final, bad = evaluations.final_return(layout.multitask_evaluation_dir(found), epochs)
    row = {**{k: v for k, v in found.items() if k != "folder"}, "outcome": outcome,
           "note": note or str(status.get("reason") or ""), "epoch": epoch, "epochs": epochs,
           "progress": epoch / epochs if epochs else np.nan, "wall_s": m.wall_total, "eta_s": eta,
           "final_eval_return": final, "host": str(status.get("host") or "")}
    return row, unreadable + bad


def collect_multitask(layout: Layout, settings: Mapping, now: float) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One row per multi-task world model and per-task policy found on disk (read_multitask_folder)."""
    rows, unreadable = [], []
    for found in layout.multitask_folders():
        row, bad = read_multitask_folder(layout, found, settings, now)
        rows.append(row)
        unreadable += bad
    return pd.DataFrame(rows, columns=MULTITASK_RUNS), unreadable


def _read_runs(layout: Layout, settings: Mapping, now: float, preflight: Mapping,
               runs: Sequence[tuple[Run, int | None]]) -> tuple[list[tuple], pd.DataFrame, list[tuple[str, str]]]:
    """read_run of each (run, planned epochs), and the runs' evaluations (evaluations.read)."""
    read = [read_run(layout, run, planned, settings, now, preflight) for run, planned in runs]
    found, unreadable = evaluations.read(layout, [run for run, _ in runs])
    return read, found, unreadable


def _read_in_parallel(layout: Layout, settings: Mapping, now: float, preflight: Mapping,
                      runs: list[tuple[Run, int | None]], meanwhile: Callable[[], object] | None
                      ) -> tuple[list[tuple], pd.DataFrame, list[tuple[str, str]]]:
    """_read_runs over the cores this process may use, for a large sweep: reading ~15,000 small
    files is per-file overhead in Python, one core's worth per process. The result (and its
    order) is the same as from one process. `meanwhile` is called in this process while the
    workers read (or first, when there are none)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cores, MAX_WORKERS, len(runs) // PARALLEL_FROM)
    read = partial(_read_runs, layout, settings, now, preflight)
    if workers < 2:
        if meanwhile:
            meanwhile()
        return read(runs)
    share = -(-len(runs) // workers)
    with ProcessPoolExecutor(workers) as pool:
        pending = pool.map(read, [runs[i:i + share] for i in range(0, len(runs), share)])  # submits every share
        if meanwhile:
            meanwhile()
        parts = list(pending)
    return ([r for rows, _, _ in parts for r in rows], pd.concat([found for _, found, _ in parts], ignore_index=True),
            [bad for _, _, unreadable in parts for bad in unreadable])


def collect(layout: Layout, plan: Mapping[Run, int], settings: Mapping, now: float, discover: bool = True,
            meanwhile: Callable[[], object] | None = None) -> Snapshot:
    """Every planned run (and with `discover` every run found on disk), with its evaluations and
    failures. `meanwhile`: work for this process while worker processes read a large sweep
    (pwm-status imports its report modules then)."""
    preflight = jobs.preflight_failures(layout)
    found, strays = layout.discovered_runs() if discover else (set(), [])
    runs = sorted(set(plan) | found, key=run_order)
    if not runs:
        raise NothingToReport(f"no run folders or training logs under {layout.results} and no planned runs")
    read, found_evaluations, bad_evaluations = _read_in_parallel(layout, settings, now, preflight,
                                                                 [(run, plan.get(run)) for run in runs], meanwhile)
    rows, curves, failures, unreadable, blocking = [], {}, [], [], set()
    for run, (row, curve, failure, bad) in zip(runs, read):
        rows.append(row)
        unreadable += bad
        if curve is not None:
            curves[run] = curve
        if failure is not None:
            failures.append((run_name(run), failure))
            blocking.update(config for config, cause in preflight.items() if cause == failure)
    # A failed preflight that stopped no known run (no config given) is listed as the job itself.
    failures += [(f"preflight {'/'.join(config)}", failure) for config, failure in preflight.items()
                 if config not in blocking]
    failures += jobs.job_failures(layout)
    table = pd.DataFrame(rows)
    table = table.merge(evaluations.summarize(found_evaluations, table), on=evaluations.IDENTITY)
    unreadable += bad_evaluations
    unreadable += [(str(path), "not a run folder the pipeline makes (expected seed<N> under task/size/variant)")
                   for path in strays]
    multitask, bad = collect_multitask(layout, settings, now)
    clips, bad_clips = read_clips(layout.clips)
    per_epoch = (table.env_steps / table.epoch).rename("per_epoch")
    found_evaluations = found_evaluations.merge(pd.concat([table[evaluations.IDENTITY], per_epoch], axis=1),
                                                on=evaluations.IDENTITY, how="left")
    found_evaluations["env_steps"] = found_evaluations.pop("per_epoch") * found_evaluations.checkpoint_epoch
    return Snapshot(table[list(RUNS)].reset_index(drop=True), curves, failures, unreadable + bad + bad_clips,
                    multitask, found_evaluations, clips)
