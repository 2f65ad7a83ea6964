"""Confidence intervals over seeds, and the verdict of a comparison.

Seeds are the unit of replication: a configuration's score is the mean over its seeds of each
run's evaluated return, and its uncertainty is a bootstrap over those seeds. The percentile
bootstrap is used rather than BCa because BCa is unreliable for few seeds (its jackknife
acceleration estimate degenerates). Below BOOTSTRAP_SEEDS seeds no bootstrap is honest: with 2
seeds the percentile "95% interval" is exactly their range, and with 3-4 it is barely wider. So
there the interval is what it is, the range of the seeds (kind "range"), and a difference is
the range of all seed-to-seed differences: "better" only when every seed beats every baseline
seed, and only with 3 seeds or more on each side (two seeds against two part that way by chance
one time in three). With fewer than two seeds on either side there is no interval at all.
"""
from dataclasses import dataclass

import numpy as np
from scipy import stats


BOOTSTRAP_SEEDS = 5  # fewest seeds (on each side) for a bootstrap interval; below it, ranges
VERDICT_SEEDS = 3  # fewest seeds on each side for a verdict: 2 vs 2 ranges part by chance 1 time in 3


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    kind: str = ""  # "bootstrap", "range" (few seeds), "" (no interval)
    n: int = 0  # seeds behind it (the smaller side for a difference)

    def label(self, level: float) -> str:
        """What the bounds are, for a reader: `95% bootstrap, 6 seeds` or `range of 3 seeds`."""
        if self.kind == "bootstrap":
            return f"{level:.0%} bootstrap, {self.n} seeds"
        return f"range of {self.n} seeds" if self.kind == "range" else "no interval: under 2 seeds"

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def _clean(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def mean_interval(values, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """Mean of `values` (NaNs dropped) with a percentile-bootstrap interval; NaN bounds below 2 values."""
    x = _clean(values)
    if len(x) == 0:
        return Interval(np.nan, np.nan, np.nan)
    if len(x) < 2:
        return Interval(float(x.mean()), np.nan, np.nan, n=len(x))
    if len(x) < BOOTSTRAP_SEEDS:
        return Interval(float(x.mean()), float(x.min()), float(x.max()), "range", len(x))
    res = stats.bootstrap((x,), np.mean, confidence_level=level, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return Interval(float(x.mean()), float(res.confidence_interval.low), float(res.confidence_interval.high),
                    "bootstrap", len(x))


def _mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def difference_interval(a, b, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """mean(a) - mean(b) for independent groups of seeds, each resampled on its own; with fewer
    than BOOTSTRAP_SEEDS on a side, the range of every seed of a minus every seed of b."""
    x, y = _clean(a), _clean(b)
    if len(x) == 0 or len(y) == 0:
        return Interval(np.nan, np.nan, np.nan)
    estimate, n = float(x.mean() - y.mean()), min(len(x), len(y))
    if n < 2:
        return Interval(estimate, np.nan, np.nan, n=n)
    if n < BOOTSTRAP_SEEDS:
        return Interval(estimate, float(x.min() - y.max()), float(x.max() - y.min()), "range", n)
    res = stats.bootstrap((x, y), _mean_difference, confidence_level=level, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high), "bootstrap", n)


def verdict(delta: Interval) -> str:
    """better / worse when the interval of the difference excludes zero (for a range: every seed
    beats, or loses to, every baseline seed), else not distinguishable."""
    if np.isnan(delta.low) or np.isnan(delta.high) or (delta.kind == "range" and delta.n < VERDICT_SEEDS):
        return "too few seeds"
    if not delta.excludes_zero:
        return "not distinguishable"
    return "better" if delta.low > 0 else "worse"
