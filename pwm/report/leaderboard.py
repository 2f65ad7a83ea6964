"""From one row per run to one row per configuration (task, size, variant).

Configurations are ranked by the evaluated return of their final checkpoints, averaged over
seeds, with a bootstrap interval; each flow variant is compared with the MLP baseline of the
same task and size by the interval of the difference. Peak and final-10 training returns ride
along as diagnostics only: a maximum over noisy stochastic-policy episodes is optimistic by
construction, and the best checkpoint by evaluation is selected on the same episodes it is
scored on.
"""
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


def _cost(group: pd.DataFrame, eval_return: float) -> dict:
    """What the configuration cost: training hours per run, CPU- and GPU-hours over its runs, and
    the evaluated return bought per training hour."""
    hours = group["wall_s"] / 3600
    on_gpu = group["device"].str.startswith("cuda")
    train_hours = hours.mean()
    return {"train_hours": train_hours, "cpu_hours": group["cpu_s"].sum(min_count=1) / 3600,
            "gpu_hours": hours[on_gpu].sum(), "return_per_hour": eval_return / train_hours if train_hours > 0 else float("nan")}


def build_leaderboard(runs: pd.DataFrame, level: float = 0.95, resamples: int = 10000) -> pd.DataFrame:
    """One row per configuration in `runs` (see schemas.RUNS), columns as in schemas.LEADERBOARD."""
    groups = dict(list(runs.groupby(CONFIG, sort=False)))
    finals = {key: group["final_eval_return"].dropna() for key, group in groups.items()}
    scores = dict(zip(finals, mean_intervals(list(finals.values()), level, resamples)))
    baseline = {key: finals.get((key[0], key[1], "mlp")) for key in finals if key[2] != "mlp"}
    compared = [key for key, base in baseline.items() if base is not None and not base.empty]
    deltas = dict(zip(compared, difference_intervals([(finals[k], baseline[k]) for k in compared], level, resamples)))
    rows = []
    for (task, size, variant), group in groups.items():
        finals_here, score = finals[(task, size, variant)], scores[(task, size, variant)]
        rows.append({
            "task": task, "size": size, "variant": variant,
            "kind": group["kind"].iloc[0], "integrator": group["integrator"].iloc[0],
            "substeps": group["substeps"].iloc[0],
            "n_runs": len(group), "n_seeds": len(finals_here), "single_seed": len(finals_here) < 2,
            "eval_return": score.estimate, "eval_ci_low": score.low, "eval_ci_high": score.high,
            "eval_interval": score.label(level) if len(finals_here) else "",
            **_comparison(variant, deltas.get((task, size, variant)), level),
            **_cost(group, score.estimate),
            "best_eval_return": group["best_eval_return"].mean(),
            "peak_return": group["peak_return"].mean(),
            "final10_return": group["final10_return"].mean(),
            "n_diverged": int((group["outcome"] == "diverged").sum()),
            "n_collapsed": int(group["collapsed"].sum()),
        })
    board = pd.DataFrame(rows, columns=[c for c in LEADERBOARD if c != "rank"])
    board["rank"] = board.groupby("task")["eval_return"].rank(method="min", ascending=False).astype("Int64")
    board = board.sort_values(["task", "rank", "size", "variant"], na_position="last", kind="stable")
    return board[list(LEADERBOARD)].reset_index(drop=True)


def status_counts(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs per outcome for each configuration (columns as in schemas.STATUS)."""
    counts = pd.crosstab([runs.task, runs["size"], runs.variant], runs.outcome)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts["collapsed"] = runs.groupby(CONFIG)["collapsed"].sum().astype(int)
    counts = counts.reset_index()
    counts.columns.name = None
    return counts[list(STATUS)]
