"""Everything the status report shows, computed once and put in the order a reader needs it:
the totals, the ranking and its verdicts, then what needs attention (failures, stale, collapsed,
diverged runs), the figures, and last the long table of every run."""
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import Run
from pwm.report import figures, sections
from pwm.report.leaderboard import build_leaderboard
from pwm.report.scores import iqm_table
from pwm.results.collect import PARALLEL_FROM, Snapshot, collect
from pwm.results.failures import group

TITLE = "Experiment status"


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    sections: list[sections.Section]
    summary: list[str]  # one line per thing that needs attention, for the terminal


def _summary(runs, groups, unreadable) -> list[str]:
    lines = [f"{len(unreadable)} unreadable file(s), left out: " + "; ".join(why for _, why in unreadable[:3])
             + (" ..." if len(unreadable) > 3 else "")] if unreadable else []
    if groups:
        lines.append(f"{len(groups)} distinct failure(s) across {sum(len(g.subjects) for g in groups)} run(s)/job(s): "
                     + "; ".join(f"{len(g.subjects)}x {g.failure.exception}: {g.failure.message}" for g in groups))
    for what, mask in (("stale (says running, silent)", runs.outcome == "stale"), ("collapsed", runs.collapsed),
                       ("diverged", runs.outcome == "diverged")):
        if mask.any():
            lines.append(f"{int(mask.sum())} run(s) {what}")
    return lines


def policies(clips: list[dict]) -> sections.Section:
    """The best and worst seed of each configuration, seen acting (pwm.clips; made by the
    workflow when evaluation.clips is on)."""
    shown = [figures.Figure(f"clip_{c['task']}_{c['size']}_{c['variant']}_{c['role']}",
                            f"{c['task']} {c['size']} {c['variant']}, {c['role']} seed ({c['seed']}): evaluated return "
                            f"{c['eval_return']:,.1f}", c["gif"], "gif") for c in clips]
    notes = ["The final deterministic policy of each configuration's best and worst seed (by final evaluated "
             "return), playing its first evaluation episode." if clips else
             "No policy clips: the workflow renders them with evaluation.clips: true (about 5-10 s per clip)."]
    return sections.Section("policies", "Policies", notes, figures=shown)


@contextmanager
def _meanwhile(large: bool, draw: Callable, *args) -> Iterator[Callable]:
    """Yields a callable that returns draw(*args). For a large sweep the drawing starts at once in
    a worker process, so that its figures are drawn while the statistics are computed; else it is
    done when asked."""
    if not large:
        yield lambda: draw(*args)
        return
    with ProcessPoolExecutor(1) as pool:
        yield pool.submit(draw, *args).result


def build(layout: Layout, plan: Mapping[Run, int], settings: Mapping, now: float | None = None,
          discover: bool = True) -> Report:
    """The page for the planned runs (and with `discover` the runs found on disk)."""
    now = time.time() if now is None else now
    return of_snapshot(collect(layout, plan, settings, now, discover), layout, settings, now)


def of_snapshot(snapshot: Snapshot, layout: Layout, settings: Mapping, now: float) -> Report:
    """The page for runs already collected (pwm.results.collect) at time `now`."""
    level, resamples = settings["confidence_level"], settings["bootstrap_resamples"]
    runs = snapshot.runs
    large = len(runs) >= PARALLEL_FROM
    with _meanwhile(large, figures.curve_figures, snapshot.evaluations, runs, snapshot.curves) as drawn:
        board = build_leaderboard(runs, level, resamples)
        iqm, skipped = iqm_table(runs, level, resamples)
        shown, panels = drawn()
        plots = [*shown, *figures.score_figures(board, iqm, runs), *panels]
    groups = group(snapshot.failures)
    figure_notes = ["Evaluation curves: the deterministic policy's mean return at every saved checkpoint, and "
                    "learning curves: binned training return; every seed as a thin line and their mean on top. "
                    "Substeps: final evaluated return per K with its interval, the mlp baseline as a band. "
                    "Per-run panel: each run's training return with its peak and last-10 mean marked. "
                    f"Sweeps of more than {figures.TASK_FIGURES} tasks are drawn across their dm_control tasks "
                    "(normalised return; IQM); the pipeline's report (snakemake --report) has every task."]
    body = [
        sections.overall(runs),
        sections.leaderboard(board, level, resamples),
        sections.across_tasks(iqm, skipped, level),
        sections.failures(groups),
        sections.unreadable(snapshot.unreadable),
        sections.running(runs),
        *([sections.multitask_runs(snapshot.multitask, runs)] if len(snapshot.multitask) else []),
        sections.collapsed(runs, settings["collapse_drop"]),
        sections.diverged(runs),
        sections.Section("figures", "Figures", figure_notes, figures=plots),
        policies(snapshot.clips),
        sections.experiments(runs),
    ]
    taken = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(now))
    return Report(TITLE, f"{layout.results} at {taken}", body, _summary(runs, groups, snapshot.unreadable))
