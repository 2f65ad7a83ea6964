"""From one row per run to one row per configuration (task, size, variant).

Configurations are ranked by the evaluated return of their final checkpoints, averaged over
seeds, with a bootstrap interval; each flow variant is compared with the MLP baseline of the
same task and size by the interval of the difference. Peak and final-10 training returns ride
along as diagnostics only: a maximum over noisy stochastic-policy episodes is optimistic by
construction, and the best checkpoint by evaluation is selected on the same episodes it is
scored on.
"""
import numpy as np
import pandas as pd

from pwm.results.schemas import LEADERBOARD, OUTCOMES, STATUS
from pwm.report.stats import Interval, difference_intervals, mean_intervals, verdict

CONFIG = ["task", "size", "variant"]


def _comparison(variant: str, delta: Interval | None, level: float) -> dict:
    """The difference to the MLP baseline of the same task and size (None: there is no baseline)."""
    if variant == "mlp" or delta is None:
        return {"delta_vs_mlp": float("nan"), "delta_ci_low": float("nan"), "delta_ci_high": float("nan"),
                "delta_interval": "", "verdict": "baseline" if variant == "mlp" else "no baseline"}
    return {"delta_vs_mlp": delta.estimate, "delta_ci_low": delta.low, "delta_ci_high": delta.high,
            "delta_interval": delta.label(level), "verdict": verdict(delta)}


def _per_config(runs: pd.DataFrame) -> pd.DataFrame:
    """What needs no interval, one row per configuration in order of appearance: its dynamics, run
    counts, training diagnostics (means over runs) and cost (training hours per run, CPU- and
    GPU-hours over its runs)."""
    hours = runs["wall_s"] / 3600
    table = runs.assign(hours=hours, gpu_hours=hours.where(runs["device"].str.startswith("cuda"), 0.0),
                        cpu_hours=runs["cpu_s"] / 3600, diverged=runs["outcome"] == "diverged")
    by_config = table.groupby(CONFIG, sort=False)
    per = by_config.agg(kind=("kind", "first"), integrator=("integrator", "first"), substeps=("substeps", "first"),
                        n_runs=("seed", "size"), train_hours=("hours", "mean"), gpu_hours=("gpu_hours", "sum"),
                        best_eval_return=("best_eval_return", "mean"), peak_return=("peak_return", "mean"),
                        final10_return=("final10_return", "mean"), n_diverged=("diverged", "sum"),
                        n_collapsed=("collapsed", "sum"))
    return per.assign(cpu_hours=by_config["cpu_hours"].sum(min_count=1)).astype({"n_diverged": int, "n_collapsed": int})


def build_leaderboard(runs: pd.DataFrame, level: float = 0.95, resamples: int = 10000) -> pd.DataFrame:
    """One row per configuration in `runs` (see schemas.RUNS), columns as in schemas.LEADERBOARD."""
    per = _per_config(runs)
    evaluated = runs.dropna(subset=["final_eval_return"]).groupby(CONFIG, sort=False)["final_eval_return"]
    finals = {key: np.array([]) for key in per.index} | {key: group.to_numpy(float) for key, group in evaluated}
    scores = dict(zip(finals, mean_intervals(list(finals.values()), level, resamples)))
    baseline = {key: finals.get((key[0], key[1], "mlp"), np.array([])) for key in finals if key[2] != "mlp"}
    compared = [key for key, base in baseline.items() if len(base)]
    deltas = dict(zip(compared, difference_intervals([(finals[k], baseline[k]) for k in compared], level, resamples)))
    rows = []
    for (task, size, variant), score in scores.items():
        n = len(finals[(task, size, variant)])
        rows.append({"task": task, "size": size, "variant": variant, "n_seeds": n, "single_seed": n < 2,
                     "eval_return": score.estimate, "eval_ci_low": score.low, "eval_ci_high": score.high,
                     "eval_interval": score.label(level) if n else "",
                     **_comparison(variant, deltas.get((task, size, variant)), level)})
    board = (pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*CONFIG, "eval_return"])).join(per, on=CONFIG)
    board["return_per_hour"] = (board.eval_return / board.train_hours).where(board.train_hours > 0)
    board["rank"] = board.groupby("task")["eval_return"].rank(method="min", ascending=False).astype("Int64")
    board = board.sort_values(["task", "rank", "size", "variant"], na_position="last", kind="stable")
    return board.reindex(columns=list(LEADERBOARD)).reset_index(drop=True)


def status_counts(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs per outcome for each configuration (columns as in schemas.STATUS)."""
    counts = pd.crosstab([runs.task, runs["size"], runs.variant], runs.outcome)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts["collapsed"] = runs.groupby(CONFIG)["collapsed"].sum().astype(int)
    counts = counts.reset_index()
    counts.columns.name = None
    return counts[list(STATUS)]
