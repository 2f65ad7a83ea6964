"""HTML tables for the Snakemake report (its viewer shows HTML inline; parquet would only be a
download). Each page is self-contained. The leaderboard page opens with findings written from
the numbers, so that nobody has to read a table to learn that a difference is noise or that runs
collapsed or diverged.
"""
from html import escape

import numpy as np
import pandas as pd

STYLE = """<style>
body { font-family: sans-serif; font-size: 14px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
td.text { text-align: left; }
.better { background: #d8f5d8; } .worse { background: #f8d8d8; }
.warn { background: #fff2cc; }
</style>"""


def _number(value, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def _interval(estimate, low, high) -> str:
    if pd.isna(estimate):
        return "–"
    if pd.isna(low):
        return f"{_number(estimate)} (no interval)"
    return f"{_number(estimate)} [{_number(low)}, {_number(high)}]"


TEXT_COLUMNS = {"task", "task set", "size", "variant", "verdict", "outcome", "host / job", "reason"}


def _table(frame: pd.DataFrame, classes: pd.DataFrame | None = None) -> str:
    """An HTML table of preformatted cells; `classes` gives an optional CSS class per cell.
    Numbers are right-aligned, the columns in TEXT_COLUMNS left-aligned."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i in range(len(frame)):
        cells = []
        for j, column in enumerate(frame.columns):
            value = frame.iat[i, j]
            css = ["text"] if column in TEXT_COLUMNS else []
            if classes is not None and classes.iat[i, j]:
                css.append(classes.iat[i, j])
            cells.append(f'<td class="{" ".join(css)}">{escape(str(value))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>{STYLE}</head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")


def findings(board: pd.DataFrame, level: float) -> list[str]:
    """Plain-language statements from the leaderboard: comparisons with their verdict, and warnings."""
    notes = []
    baselines = board[board.kind == "mlp"].set_index(["task", "size"]).n_seeds
    for _, row in board[board.kind == "flow"].iterrows():
        where = f"{row.variant} vs mlp at {row['size']} on {row.task}"
        if row.verdict in ("better", "worse", "not distinguishable"):
            seeds = f"{row.n_seeds} vs {baselines[(row.task, row['size'])]} seeds"
            notes.append(f"{where}: {row.delta_vs_mlp:+,.1f} [{row.delta_ci_low:,.1f}, {row.delta_ci_high:,.1f}] "
                         f"({row.delta_interval}; {seeds}) — {row.verdict}.")
        else:
            notes.append(f"{where}: no verdict ({row.verdict}).")
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


def leaderboard_html(board: pd.DataFrame, level: float) -> str:
    """Findings, then one ranked table per task."""
    parts = ["<h2>Findings</h2><ul>", *[f"<li>{escape(n)}</li>" for n in findings(board, level)], "</ul>",
             f"<p>Ranked by the evaluated return of the final checkpoint, mean over seeds with a {level:.0%} "
             "bootstrap interval. Best checkpoint, peak and final-10 training return are diagnostics "
             "(optimistic or noisy), not the ranking.</p>"]
    for task, rows in board.groupby("task", sort=True):
        shown = pd.DataFrame({
            "rank": rows["rank"].map(lambda r: "–" if pd.isna(r) else str(int(r))),
            "size": rows["size"], "variant": rows.variant, "seeds": rows.n_seeds.astype(str) + "/" + rows.n_runs.astype(str),
            "eval return": [_interval(*v) for v in zip(rows.eval_return, rows.eval_ci_low, rows.eval_ci_high)],
            "delta vs mlp": [_interval(*v) for v in zip(rows.delta_vs_mlp, rows.delta_ci_low, rows.delta_ci_high)],
            "verdict": rows.verdict,
            "best ckpt eval": rows.best_eval_return.map(_number),
            "peak train": rows.peak_return.map(_number),
            "final-10 train": rows.final10_return.map(_number),
            "diverged": rows.n_diverged.astype(str), "collapsed": rows.n_collapsed.astype(str),
        })
        classes = pd.DataFrame("", index=shown.index, columns=shown.columns)
        classes["verdict"] = rows.verdict.map({"better": "better", "worse": "worse", "too few seeds": "warn"}).fillna("")
        classes["seeds"] = np.where(rows.single_seed, "warn", "")
        classes["collapsed"] = np.where(rows.n_collapsed > 0, "warn", "")
        classes["diverged"] = np.where(rows.n_diverged > 0, "warn", "")
        parts += [f"<h2>{escape(task)}</h2>", _table(shown.reset_index(drop=True), classes.reset_index(drop=True))]
    return _page("Leaderboard", "".join(parts))


def status_html(status: pd.DataFrame) -> str:
    """Run counts per outcome and configuration, with a total row."""
    total = status.drop(columns=["task", "size", "variant"]).sum().to_frame().T
    total[["task", "size", "variant"]] = ["all", "", ""]
    table = pd.concat([status, total[status.columns]], ignore_index=True)
    table = table.rename(columns=lambda c: c.replace("_", " "))
    return _page("Run status", _table(table.astype({c: str for c in table.columns})))


def runs_html(runs: pd.DataFrame) -> str:
    """Every run: where it stands, its training diagnostics and its evaluations."""
    shown = pd.DataFrame({
        "task": runs.task, "size": runs["size"], "variant": runs.variant, "seed": runs.seed.astype(str),
        "outcome": runs.outcome, "epoch": runs.epoch.astype(str) + "/" + runs.epochs.astype(str),
        "wall h": runs.wall_s.map(lambda s: _number(s / 3600, 2)),
        "ETA h": runs.eta_s.map(lambda s: _number(s / 3600, 2)),
        "peak train": runs.peak_return.map(_number), "final-10 train": runs.final10_return.map(_number),
        "collapsed": runs.collapsed.map({True: "yes", False: ""}),
        "best eval (epoch)": [f"{_number(r)} ({_number(e, 0)})" for r, e in zip(runs.best_eval_return, runs.best_eval_epoch)],
        "final eval": runs.final_eval_return.map(_number),
        "host / job": runs.host + " " + runs.slurm_job_id.astype(str), "reason": runs.reason,
    })
    classes = pd.DataFrame("", index=shown.index, columns=shown.columns)
    classes["outcome"] = np.where(runs.outcome.isin(["diverged", "failed", "stale", "unknown"]), "warn", "")
    classes["collapsed"] = np.where(runs.collapsed, "warn", "")
    return _page("Runs", _table(shown, classes))


def multitask_html(summary: pd.DataFrame, rows: pd.DataFrame, level: float) -> str:
    """Per task set: the normalised score against the single-task runs of the same tasks, then
    every policy's per-task return next to the single-task return of that task."""
    if summary.empty:
        return _page("Multi-task", "<p>No multi-task sweep is configured (config key <code>multitask.task_sets</code>).</p>")
    scores = pd.DataFrame({
        "task set": summary.task_set, "size": summary["size"], "variant": summary.variant,
        "tasks": summary.tasks.astype(str), "seeds": summary.n_seeds.astype(str),
        "score": [_interval(*v) for v in zip(summary.score, summary.score_ci_low, summary.score_ci_high)],
        "single-task score": summary.single_task_score.map(lambda v: _number(v, 3)),
        "delta": [_interval(*v) for v in zip(summary.delta_vs_single_task, summary.delta_ci_low, summary.delta_ci_high)],
        "verdict": summary.verdict,
    })
    per_task = pd.DataFrame({
        "task set": rows.task_set, "size": rows["size"], "variant": rows.variant, "seed": rows.seed.astype(str),
        "task": rows.task, "outcome": rows.outcome, "final eval": rows.final_eval_return.map(_number),
        "normalised": rows.normalised_score.map(lambda v: _number(v, 3)),
        "single-task eval": rows.single_task_return.map(_number), "reason": rows.reason,
    })
    classes = pd.DataFrame("", index=per_task.index, columns=per_task.columns)
    classes["outcome"] = np.where(rows.outcome.isin(["diverged", "failed", "stale", "unknown"]), "warn", "")
    body = (f"<p>Score: final-checkpoint evaluated return / 1,000 (dm_control), averaged over the set's tasks "
            f"per seed, mean over seeds with a {level:.0%} bootstrap interval; the single-task score is the same "
            "average over single-task runs of the same size and variant, and delta is their difference "
            "(intervals of score differences, so 0.1 = 100 return points per task).</p>"
            + _table(scores) + "<h2>Per task</h2>" + _table(per_task, classes))
    return _page("Multi-task", body)
