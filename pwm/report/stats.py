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


def _bootstrap_bounds(groups: list[tuple[np.ndarray, ...]], statistic, level: float, resamples: int,
                      seed: int) -> list[tuple[float, float]]:
    """Percentile-bootstrap bounds of `statistic` for each group of samples. Groups whose samples
    have the same sizes are resampled as one batch: the draws are those each would get alone (the
    same seed, the same shapes), so the bounds are the same, at a fraction of the cost; a leaderboard
    of a thousand configurations is a handful of bootstrap calls."""
    bounds = [(np.nan, np.nan)] * len(groups)
    by_sizes: dict[tuple, list[int]] = {}
    for i, samples in enumerate(groups):
        by_sizes.setdefault(tuple(map(len, samples)), []).append(i)
    for members in by_sizes.values():
        batch = tuple(np.stack([groups[i][k] for i in members]) for k in range(len(groups[members[0]])))
        res = stats.bootstrap(batch, statistic, axis=-1, confidence_level=level, n_resamples=resamples,
                              method="percentile", rng=np.random.default_rng(seed))
        for i, low, high in zip(members, res.confidence_interval.low, res.confidence_interval.high):
            bounds[i] = (float(low), float(high))
    return bounds


def mean_intervals(groups, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> list[Interval]:
    """The mean of each group of values (NaNs dropped) with a percentile-bootstrap interval, a
    range below BOOTSTRAP_SEEDS values, NaN bounds below 2."""
    xs = [_clean(values) for values in groups]
    out = [Interval(np.nan, np.nan, np.nan) if len(x) == 0 else Interval(float(x.mean()), np.nan, np.nan, n=len(x))
           if len(x) < 2 else Interval(float(x.mean()), float(x.min()), float(x.max()), "range", len(x))
           for x in xs]
    booted = [i for i, x in enumerate(xs) if len(x) >= BOOTSTRAP_SEEDS]
    bounds = _bootstrap_bounds([(xs[i],) for i in booted], np.mean, level, resamples, seed)
    for i, (low, high) in zip(booted, bounds):
        out[i] = Interval(out[i].estimate, low, high, "bootstrap", len(xs[i]))
    return out


def mean_interval(values, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """mean_intervals of one group."""
    return mean_intervals([values], level, resamples, seed)[0]


def _mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def difference_intervals(pairs, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> list[Interval]:
    """mean(a) - mean(b) for each pair (a, b) of independent groups of seeds, each resampled on its
    own; with fewer than BOOTSTRAP_SEEDS on a side, the range of every seed of a minus every seed of b."""
    cleaned = [(_clean(a), _clean(b)) for a, b in pairs]
    out = []
    for x, y in cleaned:
        n = min(len(x), len(y))
        estimate = float(x.mean() - y.mean()) if n else np.nan
        out.append(Interval(estimate, np.nan, np.nan, n=n) if n < 2 else
                   Interval(estimate, float(x.min() - y.max()), float(x.max() - y.min()), "range", n))
    booted = [i for i, (x, y) in enumerate(cleaned) if min(len(x), len(y)) >= BOOTSTRAP_SEEDS]
    bounds = _bootstrap_bounds([cleaned[i] for i in booted], _mean_difference, level, resamples, seed)
    for i, (low, high) in zip(booted, bounds):
        out[i] = Interval(out[i].estimate, low, high, "bootstrap", out[i].n)
    return out


def difference_interval(a, b, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """difference_intervals of one pair."""
    return difference_intervals([(a, b)], level, resamples, seed)[0]


def verdict(delta: Interval) -> str:
    """better / worse when the interval of the difference excludes zero (for a range: every seed
    beats, or loses to, every baseline seed), else not distinguishable."""
    if np.isnan(delta.low) or np.isnan(delta.high) or (delta.kind == "range" and delta.n < VERDICT_SEEDS):
        return "too few seeds"
    if not delta.excludes_zero:
        return "not distinguishable"
    return "better" if delta.low > 0 else "worse"
