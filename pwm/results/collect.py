"""One row per run: where it stands, its training diagnostics and its evaluations, read from a
results directory that runs are still writing to. Nothing is written.

The runs are the planned ones (sweep config) and those found on disk. Per run only what the
report needs is read: status.json, one or two columns of metrics.parquet (pwm.results.metrics),
its evaluation files, and the tail of its logs when it failed or went silent (pwm.results.jobs). Summaries are
computed with numpy on the arrays just read: per-run pandas frames and pwm.results.files'
pandas summaries cost ~2 ms a run, seconds on a 3,000-run sweep.
"""
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pwm.pipeline.sweep import size_value
from pwm.results.files import metrics_path, read_status, training_summary
from pwm.pipeline.sweep import Run
from pwm.results import health
from pwm.results import evaluations, jobs, metrics
from pwm.results.curves import Curve, bin_curve
from pwm.results.failures import Failure, from_reason
from pwm.pipeline.layout import Layout

ETA_EPOCHS = 200  # the pace of this many recent epochs predicts the rest


class NothingToReport(RuntimeError):
    """No run is planned and none is on disk."""


@dataclass(frozen=True)
class Snapshot:
    """The sweep as it stands: a row per run, learning curves, and every failure with who had it."""

    runs: pd.DataFrame
    curves: dict[Run, Curve]
    failures: list[tuple[str, Failure]]


def run_name(run: Run) -> str:
    return f"{run.task}/{run.size}/{run.variant.name}/seed{run.seed}"


def run_order(run: Run) -> tuple:
    """Task, then size by parameter count, then the baseline before flow variants, then seed."""
    return run.task, size_value(run.size), run.variant.kind != "mlp", run.variant, run.seed


def _outcome(layout: Layout, run: Run, status: dict | None, age_s: float, settings: Mapping,
             preflight: Mapping) -> tuple[str, str, Failure | None]:
    """(outcome, note, failure). Outcomes: completed, running, stale, interrupted, failed,
    diverged, pending. A run with no status.json failed if its logs or its configuration's
    preflight end in a failure, and is pending otherwise."""
    if status is None:
        failure = jobs.run_failure(layout, run) or preflight.get((run.task, run.size, run.variant.name))
        return ("failed", "", failure) if failure else ("pending", "", None)
    state = status["state"]
    if state == "running":
        state, note = health.running_state(status, age_s, 60 * settings["stale_after_minutes"], socket.gethostname())
        failure = jobs.run_failure(layout, run) if state == "stale" else None
        return ("failed", note, failure) if failure else (state, note, None)
    if state == "failed":
        reason = from_reason(status.get("reason") or "unknown: status.json gives no reason",
                             str(layout.run_dir(run) / "status.json"))
        return "failed", "", jobs.run_failure(layout, run) or reason
    if state == "diverged":
        return state, f"non-finite {status.get('loss')} at epoch {status.get('diverged_at_epoch')}", None
    return state, status.get("reason") or "", None


def _training(m: metrics.Metrics, epochs: float, state: str, drop: float) -> dict:
    """Progress, pace and training-return diagnostics."""
    finite = np.isfinite(m.episode_return)
    r, e = m.episode_return[finite], m.epoch[finite]
    summary, c = training_summary(m.epoch, m.episode_return, drop)
    row = {"epoch": int(m.epoch[-1]) if len(m.epoch) else 0, "wall_s": m.wall_total,
           "current_return": r[-1] if len(r) else np.nan, "current_epoch": e[-1] if len(r) else np.nan,
           **summary, "smoothed_peak": c.peak, "smoothed_peak_epoch": c.peak_epoch, "eta_s": np.nan}
    if state == "running" and m.wall_s is not None and len(m.epoch) > 1:
        start = int(np.searchsorted(m.epoch, m.epoch[-1] - ETA_EPOCHS))
        spent = m.wall_s[-1] - m.wall_s[start]
        if spent > 0:
            row["eta_s"] = (epochs - m.epoch[-1]) * spent / (m.epoch[-1] - m.epoch[start])
    return row


def read_run(layout: Layout, run: Run, planned: int | None, settings: Mapping, now: float,
             preflight: Mapping) -> tuple[dict, Curve | None, Failure | None]:
    """A run's row, its learning curve (None without metrics) and its failure (if it failed)."""
    status = read_status(layout.run_dir(run))
    path = metrics_path(layout.run_dir(run))
    mtime = path.stat().st_mtime if path else None
    age = now - health.heartbeat(status, mtime) if status else np.nan
    outcome, note, failure = _outcome(layout, run, status, age, settings, preflight)
    m = metrics.NONE
    if path:
        try:
            m = metrics.read(path, pace=outcome == "running")
        except (OSError, pa.ArrowException) as err:
            note = "; ".join(filter(None, [note, f"unreadable {path.name}: {err}"]))
    status = status or {}
    reached = int(m.epoch[-1]) if len(m.epoch) else 0
    epochs = planned or status.get("epochs") or reached  # 0: unknown (no config, never started)
    row = {**run.identity(), "kind": run.variant.kind, "integrator": run.variant.integrator or "",
           "substeps": run.variant.substeps or 0, "outcome": outcome, "note": note, "epochs": epochs,
           **_training(m, epochs, outcome, settings["collapse_drop"]),
           "diverged_at_epoch": status.get("diverged_at_epoch", np.nan), "diverged_loss": status.get("loss") or "",
           "host": status.get("host") or "", "slurm_job_id": str(status.get("slurm_job_id") or ""),
           "heartbeat_age_s": age}
    row["progress"] = row["epoch"] / epochs if epochs else np.nan
    curve = None
    if reached and epochs:
        curve = bin_curve(m.epoch, m.episode_return, reached, int(epochs), m.steps_per_epoch)
    return row, curve, failure


def collect(layout: Layout, plan: Mapping[Run, int], settings: Mapping, now: float) -> Snapshot:
    """Every planned or present run, with its evaluations and failures."""
    preflight = jobs.preflight_failures(layout)
    runs = sorted(set(plan) | layout.discovered_runs(), key=run_order)
    if not runs:
        raise NothingToReport(f"no run folders or training logs under {layout.results} and no planned runs")
    rows, curves, failures, blocking = [], {}, [], set()
    for run in runs:
        row, curve, failure = read_run(layout, run, plan.get(run), settings, now, preflight)
        rows.append(row)
        if curve is not None:
            curves[run] = curve
        if failure is not None:
            failures.append((run_name(run), failure))
            blocking.update(config for config, cause in preflight.items() if cause is failure)
    # A failed preflight that stopped no known run (no config given) is listed as the job itself.
    failures += [(f"preflight {'/'.join(config)}", failure) for config, failure in preflight.items()
                 if config not in blocking]
    failures += jobs.job_failures(layout)
    table = pd.DataFrame(rows)
    table = table.merge(evaluations.summarize(evaluations.read(layout, runs), table), on=evaluations.IDENTITY)
    return Snapshot(table, curves, failures)

