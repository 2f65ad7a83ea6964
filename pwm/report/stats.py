"""Confidence intervals over seeds, and the verdict of a comparison.

Seeds are the unit of replication: a configuration's score is the mean over its seeds of each
run's evaluated return, and its uncertainty is a bootstrap over those seeds. The percentile
bootstrap is used rather than BCa because BCa is unreliable for the 2-5 seeds a sweep typically
has (its jackknife acceleration estimate degenerates). With so few seeds even the percentile interval is
too narrow, so a verdict from 2-3 seeds is optimistic; with fewer than two seeds on either side
there is no interval and no verdict at all.
"""
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

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
        return Interval(float(x.mean()), np.nan, np.nan)
    res = stats.bootstrap((x,), np.mean, confidence_level=level, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return Interval(float(x.mean()), float(res.confidence_interval.low), float(res.confidence_interval.high))


def _mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def difference_interval(a, b, level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """mean(a) - mean(b) for independent groups of seeds, each resampled on its own."""
    x, y = _clean(a), _clean(b)
    if len(x) == 0 or len(y) == 0:
        return Interval(np.nan, np.nan, np.nan)
    estimate = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return Interval(estimate, np.nan, np.nan)
    res = stats.bootstrap((x, y), _mean_difference, confidence_level=level, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high))


def verdict(delta: Interval) -> str:
    """better / worse when the interval of the difference excludes zero, else not distinguishable."""
    if np.isnan(delta.low) or np.isnan(delta.high):
        return "too few seeds"
    if not delta.excludes_zero:
        return "not distinguishable"
    return "better" if delta.low > 0 else "worse"


def t_band(matrix: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and t-interval over rows (seeds), ignoring NaNs; NaN band below 2 values.

    Used for curves with hundreds of points, where a bootstrap per point would dominate the
    report's run time.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    n = np.sum(np.isfinite(matrix), axis=0)
    mean, half = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    some, several = n > 0, n > 1
    mean[some] = np.nanmean(matrix[:, some], axis=0)
    sd = np.nanstd(matrix[:, several], axis=0, ddof=1)
    half[several] = stats.t.ppf(0.5 + level / 2, n[several] - 1) * sd / np.sqrt(n[several])
    return mean, mean - half, mean + half
