"""The report's figures as PNG bytes, so that status.html can embed them and stay one file.

Learning curves and return-vs-substeps come from pwm.report.plots (the pipeline's figures,
with its colours per variant), drawn from the binned curves of pwm.results.curves. The per-run
panel is this report's own: one small plot per run, collapsed and diverged runs first, with the
peak and the last-10 mean marked, so that a collapse is seen rather than inferred from numbers.

A figure costs ~0.5 s to lay out and draw, so their number is bounded whatever the size of the
sweep: up to TASK_FIGURES tasks get their own figures; a larger sweep gets the same two figures
across its dm_control tasks (normalised return; IQM), and its per-task figures are left to the
pipeline's report, which draws every task.
"""
import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pwm.report import plots
from pwm.pipeline.sweep import Run, Variant
from pwm.results.curves import Curve, long_table
from pwm.pipeline.tasks import max_return

plt = plots.plt  # pwm.report.plots has selected the file-only Agg backend
DPI = 72
PANEL_COLUMNS = 4
PANELS = 12  # runs in the per-run figure; flagged runs first
TASK_FIGURES = 3  # sweeps with more tasks get figures across tasks instead of one per task
ACROSS = "dm_control tasks"


@dataclass(frozen=True)
class Figure:
    name: str  # file stem, unique in the report
    title: str
    data: bytes
    kind: str = "png"  # image format and file extension: png, or gif for policy clips


def to_png(fig, name: str, title: str, tight: bool = True) -> Figure:
    """Encode and close `fig`; tight=False keeps a layout set by hand (tight_layout costs ~0.1 s per axes)."""
    buffer = io.BytesIO()
    if tight:
        fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return Figure(name, title, buffer.getvalue())


def evaluation_curves(evaluations: pd.DataFrame) -> list[Figure]:
    """Per task: evaluated return of every checkpoint over environment steps, every seed and their mean."""
    return [to_png(plots.evaluation_curves(evaluations, task), f"evaluation_curves_{task}",
                   f"{task}: evaluation curves") for task in sorted(evaluations.task.unique())]


def learning_curves(training: pd.DataFrame) -> list[Figure]:
    """Per task: training return over environment steps, every seed and their mean."""
    return [to_png(plots.learning_curves(training, task, 1), f"learning_curves_{task}",
                   f"{task}: learning curves") for task in sorted(training.task.unique())]


def substeps(board: pd.DataFrame) -> list[Figure]:
    """Per task with an evaluated flow variant: final evaluated return against K, a panel per size."""
    tasks = sorted(board.loc[(board.kind == "flow") & board.eval_return.notna(), "task"].unique())
    return [to_png(plots.substeps_figure(board, task), f"substeps_{task}", f"{task}: evaluated return vs substeps")
            for task in tasks]


def _relabel(fig, title: str, ylabel: str):
    fig.suptitle(title)
    for ax in fig.axes:
        if ax.axison:
            ax.set_ylabel(ylabel)
    return fig


def learning_curves_across_tasks(training: pd.DataFrame) -> list[Figure]:
    """Normalised training return (return / max return) over dm_control tasks and seeds."""
    scale = training.task.map({task: max_return(task) for task in training.task.unique()})
    rows = training[scale.notna()]
    if rows.empty:
        return []
    pooled = rows.assign(episode_return=rows.episode_return / scale[rows.index].astype(float), task=ACROSS,
                         seed=rows.task + "/" + rows.seed.astype(str))
    fig = plots.learning_curves(pooled, ACROSS, 1)
    title = f"{ACROSS} ({rows.task.nunique()}): normalised training return, every task and seed and their mean"
    return [to_png(_relabel(fig, title, "training return / max return"), "learning_curves_across_tasks",
                   "learning curves across tasks")]


def substeps_across_tasks(iqm: pd.DataFrame) -> list[Figure]:
    """IQM of normalised final evaluated returns against K, a panel per size (pwm.report.scores)."""
    if not (iqm.variant != "mlp").any():
        return []
    v = iqm.variant.map(Variant.parse)
    board = iqm.assign(task=ACROSS, kind=v.map(lambda x: x.kind), integrator=v.map(lambda x: x.integrator),
                       substeps=v.map(lambda x: x.substeps or 0), eval_return=iqm.iqm,
                       eval_ci_low=iqm.iqm_ci_low, eval_ci_high=iqm.iqm_ci_high, n_seeds=iqm.runs)
    fig = _relabel(plots.substeps_figure(board, ACROSS), f"{ACROSS}: IQM of normalised final evaluated return vs "
                   "flow substeps", "IQM of return / max return")
    return [to_png(fig, "substeps_across_tasks", "IQM vs substeps across tasks")]


def curve_figures(evaluations: pd.DataFrame, runs: pd.DataFrame,
                  curves: Mapping[Run, Curve]) -> tuple[list[Figure], list[Figure]]:
    """The figures that need no statistics: evaluation and learning curves (per task, or across
    tasks for a large sweep); and the per-run panel."""
    training = long_table(curves)
    if runs.task.nunique() <= TASK_FIGURES:
        shown = [*evaluation_curves(evaluations), *learning_curves(training)]
    else:
        shown = learning_curves_across_tasks(training)
    return shown, run_panels(runs, curves)


def score_figures(board: pd.DataFrame, iqm: pd.DataFrame, runs: pd.DataFrame) -> list[Figure]:
    """Return vs substeps: per task from the leaderboard, or across tasks (IQM) for a large sweep."""
    return substeps(board) if runs.task.nunique() <= TASK_FIGURES else substeps_across_tasks(iqm)


def _chosen(runs: pd.DataFrame, curves: Mapping[Run, Curve]) -> pd.DataFrame:
    """Up to PANELS runs with a curve: collapsed and diverged first, then by the largest fall."""
    has_curve = [Run(t, s, Variant.parse(v), int(seed)) in curves
                 for t, s, v, seed in zip(runs.task, runs["size"], runs.variant, runs.seed)]
    rows = runs[has_curve].assign(flagged=lambda r: r.collapsed | (r.outcome == "diverged"),
                                  fall=lambda r: r.peak_return - r.final10_return)
    return rows.sort_values(["flagged", "fall"], ascending=False, na_position="last", kind="stable").head(PANELS)


def _panel(ax, row, curve: Curve) -> None:
    flagged = row.collapsed or row.outcome == "diverged"
    ax.plot(curve.epoch, curve.value, color="tab:red" if flagged else "tab:blue", linewidth=1)
    if np.isfinite(row.smoothed_peak):
        ax.plot([row.smoothed_peak_epoch], [row.smoothed_peak], "v", color="black",
                label="peak of 10-return means (collapse rule)")
    if np.isfinite(row.final10_return):
        ax.axhline(row.final10_return, color="gray", linestyle="--", linewidth=1, label="last-10 mean")
    if row.outcome == "diverged":
        ax.axvline(row.diverged_at_epoch, color="tab:red", linestyle=":", label="diverged")
    tag = "COLLAPSED" if row.collapsed else "DIVERGED" if row.outcome == "diverged" else row.outcome
    ax.set_title(f"{row.task} {row['size']} {row.variant} s{row.seed}\n{tag}", fontsize=8,
                 color="tab:red" if flagged else "black")
    ax.tick_params(labelsize=7)


def run_panels(runs: pd.DataFrame, curves: Mapping[Run, Curve]) -> list[Figure]:
    """One small training-return plot per run (see _chosen), in a grid."""
    chosen = _chosen(runs, curves)
    if chosen.empty:
        return []
    n_rows = -(-len(chosen) // PANEL_COLUMNS)
    fig, axes = plt.subplots(n_rows, PANEL_COLUMNS, figsize=(14, 2.4 * n_rows), squeeze=False)
    for ax, (_, row) in zip(axes.flat, chosen.iterrows()):
        _panel(ax, row, curves[Run(row.task, row["size"], Variant.parse(row.variant), int(row.seed))])
    for ax in axes.flat[len(chosen):]:
        ax.set_axis_off()
    labelled = [ax for ax in axes.flat if ax.get_legend_handles_labels()[0]]
    if labelled:
        labelled[0].legend(fontsize=6)
    fig.suptitle(f"Training return against epoch, per run ({len(chosen)} of {len(runs)} runs; collapsed and "
                 "diverged first, then by the largest fall from the peak)", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.04, top=1 - 0.45 / n_rows, hspace=0.55, wspace=0.2)
    return [to_png(fig, "runs", "per-run training return", tight=False)]
