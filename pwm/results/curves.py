"""Learning curves at a fixed resolution, for the figures.

A 20,000-epoch run has 20,000 metrics rows; drawing 3,000 such runs row by row would dominate
the report's time and memory. While a run's metrics are in memory it is reduced to the mean
logged return in each of at most BINS equal slices of its planned epochs. Runs with the same
budget share the slices, so seeds average slice by slice, and a running run simply ends early.
A slice in which no episode finished (dm_control episodes end only every ~60 epochs) carries
the last logged return forward, as the trainer's own progress line does, so that curves stay
connected and every seed has a value in every slice after its first episode.
"""
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pwm.pipeline.sweep import Run

BINS = 200


@dataclass(frozen=True)
class Curve:
    """Per slice that the run has reached: its last epoch and env steps, and the mean logged
    return (the previous slice's where no episode finished; NaN before the first episode)."""

    epoch: np.ndarray
    env_steps: np.ndarray
    value: np.ndarray


def bin_curve(epoch: np.ndarray, returns: np.ndarray, reached: int, planned: int, steps_per_epoch: float) -> Curve:
    """Reduce one run's logged returns (at `epoch`, NaN where no episode finished) to at most BINS
    slices of its `planned` epochs, up to the slice holding epoch `reached`."""
    n = min(BINS, planned)
    finite = np.isfinite(returns)
    index = np.minimum((np.asarray(epoch[finite], dtype=np.int64) - 1) * n // planned, n - 1)
    counts = np.bincount(index, minlength=n)
    sums = np.bincount(index, weights=returns[finite], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(counts > 0, sums / counts, np.nan)
    value = value[np.maximum.accumulate(np.where(counts > 0, np.arange(n), 0))]  # carry forward
    edges = (np.arange(1, n + 1) * planned) // n
    slices = min((reached - 1) * n // planned + 1, n) if reached else 0
    return Curve(edges[:slices], edges[:slices] * steps_per_epoch, value[:slices])


def long_table(curves: Mapping[Run, Curve]) -> pd.DataFrame:
    """All curves as rows (task, size, variant, seed, epoch, env_steps, episode_return): the
    shape of the pipeline's training table, which pwm.report.plots draws."""
    frames = {key: [] for key in ("task", "size", "variant", "seed", "epoch", "env_steps", "episode_return")}
    for run, curve in curves.items():
        n = len(curve.epoch)
        for key, value in run.identity().items():
            frames[key].append(np.repeat(value, n))
        frames["epoch"].append(curve.epoch)
        frames["env_steps"].append(curve.env_steps)
        frames["episode_return"].append(curve.value)
    if not curves:
        return pd.DataFrame(columns=list(frames))
    return pd.DataFrame({key: np.concatenate(parts) for key, parts in frames.items()})
