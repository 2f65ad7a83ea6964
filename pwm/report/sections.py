"""The report's content: titled sections of notes and tables whose cells are already text, so
that markdown, HTML and the terminal show the same words and the tests can check every cell.

The status page and the Snakemake report are the same page (the status_report rule), so both
rank and judge configurations by the same numbers.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pwm.pipeline.sweep import size_value
from pwm.pipeline.tasks import is_multitask
from pwm.report.stats import BOOTSTRAP_SEEDS
from pwm.results.failures import FailureGroup
from pwm.results.health import ETA_EPOCHS, OUTCOMES, SIGNIFICANCE, WINDOW

OUTCOMES = list(OUTCOMES)
NONE = "–"


@dataclass(frozen=True)
class Section:
    """A heading with notes (paragraphs), bullets, an optional table of text cells and figures."""

    key: str
    title: str
    notes: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figures: list = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


def number(value, digits: int = 1, sign: str = "") -> str:
    """Thousands separated, `digits` decimals; sign="+" for differences."""
    return NONE if value is None or pd.isna(value) else f"{value:{sign},.{digits}f}"


def interval(estimate, low, high, digits: int = 1, sign: str = "") -> str:
    """`estimate [low, high]`; a value without an interval says why."""
    if pd.isna(estimate):
        return NONE
    if pd.isna(low):
        return f"{number(estimate, digits, sign)} (no interval: under 2 seeds)"
    return f"{number(estimate, digits, sign)} [{number(low, digits)}, {number(high, digits)}]"


def duration(seconds) -> str:
    """12h05m, 7m, 2d03h."""
    if pd.isna(seconds):
        return NONE
    minutes = int(round(seconds / 60))
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def at_epoch(value, epoch) -> str:
    return NONE if pd.isna(value) else f"{number(value)} @ {number(epoch, 0)}"


def run_label(runs: pd.DataFrame) -> pd.Series:
    return runs.task + "/" + runs["size"] + "/" + runs.variant + "/seed" + runs.seed.astype(str)


def category(runs: pd.DataFrame) -> pd.DataFrame:
    """size, tasks (single-task / multi-task), dynamics (baseline / flow) of every run."""
    return pd.DataFrame({"size": runs["size"],
                         "tasks": np.where(runs.task.map(is_multitask), "multi-task", "single-task"),
                         "dynamics": np.where(runs.kind == "mlp", "baseline", "flow")}, index=runs.index)


def overall(runs: pd.DataFrame) -> Section:
    cats = category(runs)
    keys = [cats["size"], cats.tasks, cats.dynamics]
    counts = pd.crosstab(keys, runs.outcome).reindex(columns=OUTCOMES, fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts["collapsed"] = runs.groupby(keys)["collapsed"].sum().astype(int)
    counts = counts.reset_index()
    order = {"size": lambda c: c.map(size_value), "tasks": lambda c: c == "multi-task", "dynamics": lambda c: c}
    counts = counts.sort_values(["size", "tasks", "dynamics"], key=lambda c: order[c.name](c))
    total = counts[OUTCOMES + ["total", "collapsed"]].sum().to_frame().T.assign(size="all", tasks="", dynamics="")
    table = pd.concat([counts, total[counts.columns]], ignore_index=True).astype(str)
    table.columns.name = None
    notes = [f"{len(runs)} runs. Outcomes: {', '.join(OUTCOMES)}; collapsed is a flag on runs of any outcome "
             "and is not part of the total."]
    return Section("overall", "Overall", notes, table)


def experiments(runs: pd.DataFrame) -> Section:
    delta = np.where(runs.kind == "mlp", "baseline", [
        NONE if pd.isna(d) else f"{number(d, sign='+')} @ {e:.0f} ({n} mlp seeds)"
        for d, e, n in zip(runs.latest_delta_vs_mlp, runs.latest_eval_epoch, runs.baseline_seeds)])
    flags = [", ".join(f for f, on in (("collapsed", c), ("diverged", o == "diverged"), (note, o == "unknown")) if on)
             for c, o, note in zip(runs.collapsed, runs.outcome, runs.note)]
    table = pd.DataFrame({
        "task": runs.task, "size": runs["size"], "integrator": runs.integrator.replace("", "mlp"),
        "K": runs.substeps.map(lambda k: str(k) if k else NONE), "seed": runs.seed.astype(str),
        "outcome": runs.outcome, "epochs": runs.epoch.astype(str) + "/" + runs.epochs.astype(str),
        "peak train R": [at_epoch(r, e) for r, e in zip(runs.peak_return, runs.peak_epoch)],
        "last-10 train R": runs.final10_return.map(number),
        "best eval R": [at_epoch(r, e) for r, e in zip(runs.best_eval_return, runs.best_eval_epoch)],
        "final eval R": runs.final_eval_return.map(number),
        "Δ eval vs mlp": delta, "flags": flags,
    })
    notes = ["Training R is the return of the stochastic training policy (peak: the best single logged value, "
             "optimistic by construction; last-10: mean of the last 10 logged values). Eval R is the "
             "deterministic policy in the real environment on saved checkpoints (best: highest checkpoint, "
             "selection-biased; final: the checkpoint of the last planned epoch). Δ eval vs mlp compares the "
             "run's latest evaluated checkpoint with the mean of the baseline seeds at the same checkpoint."]
    return Section("experiments", "Experiments", notes, table.reset_index(drop=True))


def running(runs: pd.DataFrame) -> Section:
    rows = runs[runs.outcome.isin(["running", "stale"])]
    table = pd.DataFrame({
        "run": run_label(rows), "state": rows.outcome,
        "progress": [f"{p:.1%} ({e}/{n})" for p, e, n in zip(rows.progress, rows.epoch, rows.epochs)],
        "wall time": rows.wall_s.map(duration),
        "current R": [at_epoch(r, e) for r, e in zip(rows.current_return, rows.current_epoch)],
        "peak R": [at_epoch(r, e) for r, e in zip(rows.peak_return, rows.peak_epoch)],
        "ETA": rows.eta_s.map(duration), "node": rows.host.replace("", NONE),
        "memory": rows.max_rss_mb.map(lambda mb: NONE if pd.isna(mb) else f"{mb / 1024:.1f} GB"),
        "device": rows.device.replace("", NONE), "precision": rows.precision.replace("", NONE),
        "SLURM job": rows.slurm_job_id.replace("", NONE),
        "last update": rows.heartbeat_age_s.map(lambda s: f"{duration(s)} ago"), "note": rows.note,
    })
    notes = [f"ETA from the pace of the last {ETA_EPOCHS} epochs. Stale: status.json says running, but there was no "
             "update for longer than analysis.stale_after_minutes, or the process is gone from this host."]
    return Section("running", "Running", notes, table.reset_index(drop=True))


def multitask_runs(rows: pd.DataFrame, runs: pd.DataFrame) -> Section:
    """Multi-task world models and their per-task policies: where each stands, and each policy's
    final evaluated return next to the single-task runs of the same task, size and variant."""
    single = runs.groupby(["task", "size", "variant"])["final_eval_return"].mean()
    alone = [single.get((t, s, v), np.nan) if t else np.nan for t, s, v in zip(rows.task, rows["size"], rows.variant)]
    table = pd.DataFrame({
        "stage": rows.stage, "task set": rows.task_set, "task": rows.task.replace("", NONE), "size": rows["size"],
        "variant": rows.variant, "seed": rows.seed.astype(str), "outcome": rows.outcome,
        "progress": [f"{p:.0%} ({e}/{n})" if n else NONE for p, e, n in zip(rows.progress, rows.epoch, rows.epochs)],
        "ETA": rows.eta_s.map(duration), "final eval R": rows.final_eval_return.map(number),
        "single-task eval R": pd.Series(alone, dtype=float).map(number).to_numpy(), "note": rows.note,
    })
    notes = ["Every multi-task world model and per-task policy found under results/multitask. Single-task eval R: "
             "mean final evaluated return of the single-task runs of the same task, size and variant."]
    return Section("multitask_runs", "Multi-task runs", notes, table.reset_index(drop=True))


def failures(groups: list[FailureGroup]) -> Section:
    table = pd.DataFrame({
        "exception": [g.failure.exception for g in groups], "message": [g.failure.message for g in groups],
        "raised at": [", ".join(g.origins) or NONE for g in groups],
        "count": [str(len(g.subjects)) for g in groups], "affected": [g.affected() for g in groups],
        "log": [g.logs[0] + (f" (+{len(g.logs) - 1} more)" if len(g.logs) > 1 else "") if g.logs else NONE
                for g in groups],
    })
    notes = ["One row per distinct exception and message: the final line of the last Python traceback in "
             "the job's log, or the reason SLURM killed it."]
    return Section("failures", "Failed", notes, table)


def unreadable(files: list[tuple[str, str]]) -> Section:
    table = pd.DataFrame({"file": [path for path, _ in files], "why": [why for _, why in files]})
    notes = ["Files in the results directory that could not be used: they are left out, and a run whose "
             "status.json is unreadable counts as unknown. Nothing was changed on disk."]
    return Section("unreadable", "Unreadable files", notes, table)


def diverged(runs: pd.DataFrame) -> Section:
    rows = runs[runs.outcome == "diverged"]
    table = pd.DataFrame({"run": run_label(rows), "epoch": rows.diverged_at_epoch.map(lambda e: number(e, 0)),
                          "loss": rows.diverged_loss.replace("", NONE),
                          "last-10 train R": rows.final10_return.map(number)})
    notes = ["pwm-train checks every loss for NaN/inf and stops the run, naming the loss and the epoch."]
    return Section("diverged", "Diverged", notes, table.reset_index(drop=True))


def collapsed(runs: pd.DataFrame, drop: float) -> Section:
    rows = runs[runs.collapsed]
    fallen = (rows.smoothed_peak - rows.final10_return) / (rows.smoothed_peak - rows.first10_return)
    table = pd.DataFrame({
        "run": run_label(rows), "outcome": rows.outcome, "first-10 R": rows.first10_return.map(number),
        f"peak {WINDOW}-mean R": [at_epoch(r, e) for r, e in zip(rows.smoothed_peak, rows.smoothed_peak_epoch)],
        "last-10 R": rows.final10_return.map(number), "gain given back": fallen.map(lambda f: f"{f:.0%}"),
    })
    notes = [f"Collapsed: the mean of the last {WINDOW} logged training returns gave back more than {drop:.0%} of "
             f"the gain from the first {WINDOW} to the peak (the highest mean of {WINDOW} consecutive returns, "
             f"before the last {WINDOW}), and the fall exceeds {SIGNIFICANCE:g} standard errors, so that noise "
             f"is never called a collapse. Needs {3 * WINDOW} logged returns."]
    return Section("collapsed", "Collapsed", notes, table.reset_index(drop=True))


def findings(board: pd.DataFrame, level: float) -> list[str]:
    """Plain-language statements from the leaderboard: comparisons with their verdict, and warnings."""
    notes = []
    baselines = board[board.kind == "mlp"].set_index(["task", "size"]).n_seeds
    for _, row in board[board.kind == "flow"].iterrows():
        where = f"{row.variant} vs mlp at {row['size']} on {row.task}"
        judged = row.verdict if row.verdict in ("better", "worse", "not distinguishable") else f"no verdict ({row.verdict})"
        if pd.notna(row.delta_ci_low):
            seeds = f"{row.n_seeds} vs {baselines[(row.task, row['size'])]} seeds"
            notes.append(f"{where}: {row.delta_vs_mlp:+,.1f} [{row.delta_ci_low:,.1f}, {row.delta_ci_high:,.1f}] "
                         f"({row.delta_interval}; {seeds}) — {judged}.")
        else:
            notes.append(f"{where}: {judged}.")
    single = board[board.single_seed]
    if len(single):
        notes.append(f"{len(single)} configuration(s) have fewer than two evaluated seeds: "
                     f"{', '.join(single.variant + ' ' + single['size'])}; their numbers are anecdotes.")
    for column, what in (("n_collapsed", "collapsed (final-10 return far below peak)"), ("n_diverged", "diverged")):
        hit = board[board[column] > 0]
        if len(hit):
            notes.append(f"{int(hit[column].sum())} run(s) {what}: "
                         f"{', '.join(hit.variant + ' ' + hit['size'] + ' on ' + hit.task)}.")
    return notes


def leaderboard(board: pd.DataFrame, level: float, resamples: int) -> Section:
    """The output of pwm.report.leaderboard.build_leaderboard, as text, with its findings."""
    table = pd.DataFrame({
        "task": board.task, "rank": board["rank"].map(lambda r: NONE if pd.isna(r) else str(int(r))),
        "size": board["size"], "variant": board.variant,
        "seeds": board.n_seeds.astype(str) + "/" + board.n_runs.astype(str),
        "eval R": [interval(*v) for v in zip(board.eval_return, board.eval_ci_low, board.eval_ci_high)],
        "interval": board.eval_interval.replace("", NONE),
        "Δ vs mlp": [interval(*v, sign="+") for v in zip(board.delta_vs_mlp, board.delta_ci_low, board.delta_ci_high)],
        "verdict": board.verdict,
        "train h/run": board.train_hours.map(lambda h: number(h, 2)), "CPU-h": board.cpu_hours.map(lambda h: number(h, 2)),
        "R per train h": board.return_per_hour.map(number), "best-ckpt eval R": board.best_eval_return.map(number),
        "peak train R": board.peak_return.map(number), "last-10 train R": board.final10_return.map(number),
        "diverged": board.n_diverged.astype(str), "collapsed": board.n_collapsed.astype(str),
    })
    notes = [f"Configurations ranked within each task by the evaluated return of the final checkpoint: mean "
             f"over seeds with a {level:.0%} percentile-bootstrap interval (scipy.stats.bootstrap, {resamples} "
             f"resamples) when there are {BOOTSTRAP_SEEDS} seeds or more, else the range of the seeds (the interval "
             "column says which). Δ vs mlp: difference to the baseline of the same task and size, with its own "
             "interval (for fewer seeds, the range of every seed-to-seed difference); better / worse only when "
             "it excludes 0. Fewer than two evaluated seeds on either side give no interval and no verdict. "
             "seeds = evaluated / planned. Cost: training wall-clock hours per run, CPU-hours of all runs, "
             "evaluated return per training hour. Best-checkpoint, peak and last-10 training returns are "
             "diagnostics, not the ranking."]
    return Section("leaderboard", "Leaderboard", notes, table, bullets=findings(board, level))


def across_tasks(table: pd.DataFrame, skipped: list[str], level: float) -> Section:
    shown = pd.DataFrame({
        "size": table["size"], "variant": table.variant, "tasks": table.tasks.astype(str),
        "runs": table.runs.astype(str),
        "IQM": [interval(*v, digits=3) for v in zip(table.iqm, table.iqm_ci_low, table.iqm_ci_high)],
        "Δ IQM vs mlp": [interval(*v, digits=3, sign="+")
                         for v in zip(table.delta_vs_mlp, table.delta_ci_low, table.delta_ci_high)],
        "verdict": table.verdict,
        "P(better than mlp)": [NONE if pd.isna(p) else f"{interval(p, lo, hi, digits=2)} over {n} task(s)"
                               for p, lo, hi, n in zip(table.poi, table.poi_ci_low, table.poi_ci_high, table.poi_tasks)],
    })
    notes = [f"Interquartile mean of normalised final evaluated returns (return / 1000 on dm_control) over all "
             f"runs and tasks, {level:.0%} stratified bootstrap interval (seeds resampled within each task), as "
             "rliable computes it. Δ IQM vs mlp uses the tasks both have scores for. P(better than mlp) is "
             "rliable's probability of improvement: per task, the share of (flow seed, mlp seed) pairs where "
             "flow's final evaluated return is higher (ties half), averaged over every task both have, "
             "gymnasium ones included (no normaliser needed); 0.5 means no difference."]
    if skipped:
        notes.append(f"Left out, no normaliser (gymnasium MuJoCo returns are unbounded; a multi-task set is "
                     f"scored per member task): {', '.join(skipped)}.")
    return Section("iqm", "Across tasks (IQM)", notes, shown)


def multitask(summary: pd.DataFrame, rows: pd.DataFrame, level: float) -> list[Section]:
    """Per task set, the normalised score against the single-task runs of the same tasks; then
    every policy's per-task return next to the single-task return of that task."""
    if summary.empty:
        return [Section("multitask", "Multi-task", ["No multi-task sweep is configured (config key multitask.task_sets)."])]
    scores = pd.DataFrame({
        "task set": summary.task_set, "size": summary["size"], "variant": summary.variant,
        "tasks": summary.tasks.astype(str), "seeds": summary.n_seeds.astype(str),
        "score": [interval(*v, digits=3) for v in zip(summary.score, summary.score_ci_low, summary.score_ci_high)],
        "single-task score": summary.single_task_score.map(lambda v: number(v, 3)),
        "Δ": [interval(*v, digits=3, sign="+") for v in
              zip(summary.delta_vs_single_task, summary.delta_ci_low, summary.delta_ci_high)],
        "verdict": summary.verdict,
    })
    per_task = pd.DataFrame({
        "task set": rows.task_set, "size": rows["size"], "variant": rows.variant, "seed": rows.seed.astype(str),
        "task": rows.task, "outcome": rows.outcome, "final eval R": rows.final_eval_return.map(number),
        "normalised": rows.normalised_score.map(lambda v: number(v, 3)),
        "single-task eval R": rows.single_task_return.map(number), "reason": rows.reason,
    })
    notes = [f"Score: final-checkpoint evaluated return / 1,000 (dm_control), averaged over the set's tasks per "
             f"seed, mean over seeds with its interval ({level:.0%} bootstrap with {BOOTSTRAP_SEEDS} seeds or more, "
             "else the seeds' range); the single-task score is the same average over single-task runs of the "
             "same size and variant, Δ their difference (0.1 = 100 return points per task)."]
    return [Section("multitask", "Multi-task", notes, scores.reset_index(drop=True)),
            Section("multitask_tasks", "Multi-task: per task", [], per_task.reset_index(drop=True))]
