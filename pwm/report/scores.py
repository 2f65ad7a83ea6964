"""Across tasks: the interquartile mean (IQM) of normalised scores per (size, variant), with a
stratified bootstrap interval, as rliable (Agarwal et al., NeurIPS 2021) does for few seeds on
many tasks.

The IQM averages the middle half of all runs' scores: unlike the mean it is not carried by a
few outlier runs, and unlike the median it uses half of the data. Its interval resamples seeds
within each task (a stratified bootstrap: scipy.stats.bootstrap with one sample per task). The
comparison with the baseline is the difference of the two IQMs, each side resampled the same
way, judged by pwm.report.stats.verdict like every other comparison in the report.

Scores are final-checkpoint evaluated returns / pwm.pipeline.tasks.max_return (1,000 on
dm_control). Tasks without a normaliser (gymnasium MuJoCo) are left out and named in the report.
"""
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pwm.pipeline.sweep import size_value
from pwm.report.plots import ordered_variants
from pwm.report.stats import Interval, verdict
from pwm.pipeline.tasks import max_return

TRIM = 0.25  # cut from each end: the interquartile mean

COLUMNS = ["size", "variant", "tasks", "runs", "iqm", "iqm_ci_low", "iqm_ci_high",
           "delta_vs_mlp", "delta_ci_low", "delta_ci_high", "verdict", "poi_tasks", "poi", "poi_ci_low", "poi_ci_high"]


def iqm(values, axis=-1):
    """The mean of the middle half: scipy.stats.trim_mean's cut, found by a full sort (numpy sorts
    the bootstrap's many short rows several times faster than trim_mean's partition selects)."""
    ordered = np.sort(np.moveaxis(np.asarray(values, dtype=float), axis, -1), axis=-1)
    cut = int(TRIM * ordered.shape[-1])
    return ordered[..., cut:ordered.shape[-1] - cut].mean(axis=-1)


def _bootstrap(samples: Sequence[np.ndarray], statistic, level: float, resamples: int, seed: int) -> Interval:
    """Point estimate and percentile interval of `statistic(*samples)`, every sample resampled on
    its own; no interval unless every sample has two values or more."""
    estimate = float(statistic(*samples, axis=-1))
    if any(len(s) < 2 for s in samples):
        return Interval(estimate, np.nan, np.nan)
    res = stats.bootstrap(tuple(samples), statistic, vectorized=True, paired=False, confidence_level=level,
                          n_resamples=resamples, method="percentile", rng=np.random.default_rng(seed))
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high))


def iqm_interval(per_task: Sequence[np.ndarray], level: float = 0.95, resamples: int = 10000,
                 seed: int = 0) -> Interval:
    """IQM of all scores pooled, seeds resampled within each task."""
    def statistic(*samples, axis):
        return iqm(np.concatenate(samples, axis=axis), axis=axis)
    return _bootstrap(per_task, statistic, level, resamples, seed)


def iqm_difference(a: Sequence[np.ndarray], b: Sequence[np.ndarray], level: float = 0.95,
                   resamples: int = 10000, seed: int = 0) -> Interval:
    """IQM(a) - IQM(b), each a list of per-task score arrays, every task of each side resampled."""
    n = len(a)

    def statistic(*samples, axis):
        return (iqm(np.concatenate(samples[:n], axis=axis), axis=axis)
                - iqm(np.concatenate(samples[n:], axis=axis), axis=axis))
    return _bootstrap([*a, *b], statistic, level, resamples, seed)


def _counts(indices: np.ndarray, axis: int) -> np.ndarray:
    """How often each index 0..k-1 occurs in each resample of k seed indices (along `axis`, moved last)."""
    idx = np.moveaxis(np.asarray(indices), axis, -1).astype(np.int64)
    k = idx.shape[-1]
    rows = idx.reshape(-1, k) + k * np.arange(idx.size // max(k, 1))[:, None]
    return np.bincount(rows.ravel(), minlength=idx.size).reshape(idx.shape).astype(float)


def improvement_probability(a: Sequence[np.ndarray], b: Sequence[np.ndarray], level: float = 0.95,
                            resamples: int = 10000, seed: int = 0) -> Interval:
    """rliable's probability of improvement P(a > b): per task, the share of (seed of a, seed of
    b) pairs where a's return is higher (ties count half), averaged over tasks; each task's seeds
    resampled on both sides. Returns are compared within a task, so no normaliser is needed.

    Each task's pairwise outcomes are tabulated once and the bootstrap resamples seed indices: a
    resample's share is its seed counts weighed through that table (a matrix product) rather than
    every pair compared again."""
    n = len(a)
    tables = [(x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :]) for x, y in zip(a, b)]

    def statistic(*indices, axis):
        per_task = [((_counts(i, axis) @ table) * _counts(j, axis)).sum(axis=-1) / table.size
                    for i, j, table in zip(indices[:n], indices[n:], tables)]
        return np.mean(per_task, axis=0)
    return _bootstrap([np.arange(len(x)) for x in a] + [np.arange(len(y)) for y in b], statistic, level,
                      resamples, seed)


def normalised_scores(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Runs with a final evaluation and a normaliser, with their `score`; and the tasks left out."""
    scale = runs.task.map({task: max_return(task) for task in runs.task.unique()})
    skipped = sorted(runs.loc[scale.isna(), "task"].unique())
    scored = runs[scale.notna() & runs.final_eval_return.notna()]
    return scored.assign(score=scored.final_eval_return / scale[scored.index].astype(float)), skipped


def iqm_table(runs: pd.DataFrame, level: float, resamples: int) -> tuple[pd.DataFrame, list[str]]:
    """One row per (size, variant) with evaluated runs (columns COLUMNS); and the tasks left out
    of the IQM. Flow variants are compared with the mlp baseline on the tasks both have: by the
    IQM of normalised scores, and by the probability of improvement (every task)."""
    scored, skipped = normalised_scores(runs)
    scores = {key: group.score.to_numpy(float) for key, group in scored.groupby(["size", "variant", "task"])}
    evaluated = runs[runs.final_eval_return.notna()]
    finals = {key: group.final_eval_return.to_numpy(float) for key, group in evaluated.groupby(["size", "variant", "task"])}
    nothing = Interval(np.nan, np.nan, np.nan)
    rows = []
    for size in sorted(evaluated["size"].unique(), key=size_value):
        for variant in ordered_variants(evaluated.loc[evaluated["size"] == size, "variant"]):
            tasks = sorted(t for s, v, t in scores if (s, v) == (size, variant))
            mine = [scores[(size, variant, task)] for task in tasks]
            score = iqm_interval(mine, level, resamples) if mine else nothing
            delta, poi, judged = nothing, nothing, "baseline" if variant == "mlp" else "no baseline"
            compared = [t for s, v, t in finals if (s, v) == (size, variant) and (size, "mlp", t) in finals]
            if variant != "mlp" and compared:
                poi = improvement_probability([finals[(size, variant, t)] for t in compared],
                                              [finals[(size, "mlp", t)] for t in compared], level, resamples)
                shared = [t for t in tasks if (size, "mlp", t) in scores]
                if shared:
                    delta = iqm_difference([scores[(size, variant, t)] for t in shared],
                                           [scores[(size, "mlp", t)] for t in shared], level, resamples)
                    judged = verdict(delta)
            rows.append({"size": size, "variant": variant, "tasks": len(tasks), "runs": sum(map(len, mine)),
                         "iqm": score.estimate, "iqm_ci_low": score.low, "iqm_ci_high": score.high,
                         "delta_vs_mlp": delta.estimate, "delta_ci_low": delta.low, "delta_ci_high": delta.high,
                         "verdict": judged, "poi_tasks": len(compared), "poi": poi.estimate,
                         "poi_ci_low": poi.low, "poi_ci_high": poi.high})
    return pd.DataFrame(rows, columns=COLUMNS), skipped
