"""Rules that judge a run's health: its outcome (is a "running" run really running), how long it
still needs, and did it collapse. pwm-status and the pipeline's runs.parquet both use these.

Stale: a trainer killed with SIGKILL (OOM killer, scancel -9, a lost node) cannot update its
status.json, which keeps saying "running". Such a run is reported as stale when its heartbeat
(the newer of status.json's `updated` and the mtime of metrics.parquet, which pwm-train rewrites
every `log_every` epochs) is older than `stale_after_minutes`, or at once when it ran on this
host and its process is gone.

Collapse: the example report's runs fell from a training return of ~1,200 to ~20 and nobody
noticed. A run is flagged collapsed when, with at least 3 x WINDOW logged returns,

    final - peak < -collapse_drop x (peak - first)   and   peak - final > SIGNIFICANCE x SE

where first and final are the means of the first and last WINDOW logged returns, peak is the
highest mean of WINDOW consecutive logged returns that ends before the final window, and SE is
the standard error of the difference of two WINDOW-means, from the run's episode-to-episode
noise (the spread of successive differences: the learning trend cancels out in them, and a
fall is one difference among hundreds). Smoothing the peak and asking for a significant fall
keep a flat but noisy run from being flagged: the best single episode of a noisy run is always
far above its final mean, which says nothing.
"""
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pwm.run_dir import STATUS_TIME, process_alive

OUTCOMES = ("completed", "running", "stale", "interrupted", "diverged", "failed", "pending", "unknown")
STOPPED = ("completed", "interrupted", "diverged", "failed")  # states pwm-train writes, besides running
ETA_EPOCHS = 200  # the pace of this many recent epochs predicts the rest
WINDOW = 10  # "first-10" / "final-10": the example status report's convention
SIGNIFICANCE = 4.0  # standard errors: the peak is a maximum over hundreds of windows, so not 2


def updated_time(status: dict) -> float | None:
    """status.json's `updated` as Unix time; None when absent or not a time pwm-train writes."""
    try:
        return datetime.strptime(status["updated"], STATUS_TIME).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def heartbeat(status: dict, metrics_mtime: float | None) -> float:
    """Unix time of the last sign of life: status.json's `updated` or metrics.parquet's mtime
    (an `updated` that does not parse counts as no sign)."""
    return max(updated_time(status) or 0.0, metrics_mtime or 0.0)


def status_outcome(status: dict | None, age_s: float, stale_after_s: float, this_host: str) -> tuple[str, str]:
    """(outcome, note) from status.json alone: pending without one, stale for a silent "running",
    unknown for a state pwm-train never writes. pwm.results.collect adds what logs say."""
    if status is None:
        return "pending", ""
    state = status["state"]
    if state == "running":
        return running_state(status, age_s, stale_after_s, this_host)
    if state in STOPPED:
        return state, ""
    return "unknown", f"unknown state {state!r} in status.json"


def eta_s(epoch: np.ndarray, wall_s: np.ndarray, planned: float) -> float:
    """Seconds a running run still needs at the pace of its last ETA_EPOCHS epochs (NaN when
    there is no pace yet)."""
    if len(epoch) < 2:
        return np.nan
    start = int(np.searchsorted(epoch, epoch[-1] - ETA_EPOCHS))
    spent, done = wall_s[-1] - wall_s[start], epoch[-1] - epoch[start]
    return (planned - epoch[-1]) * spent / done if spent > 0 and done > 0 else np.nan


def running_state(status: dict, age_s: float, stale_after_s: float, this_host: str) -> tuple[str, str]:
    """("running", "") or ("stale", why) for a run whose status.json says running."""
    pid = status.get("pid")
    if status.get("host") == this_host and isinstance(pid, int) and pid > 0 and not process_alive(pid):
        return "stale", f"process {pid} on {this_host} is gone"
    if age_s > stale_after_s:
        return "stale", f"no update for {age_s / 3600:.1f} h"
    return "running", ""


@dataclass(frozen=True)
class Collapse:
    """The collapse rule's inputs and verdict; NaN where too few returns were logged."""

    collapsed: bool
    first: float
    peak: float
    peak_epoch: float
    final: float


def collapse(epochs: np.ndarray, returns: np.ndarray, drop: float) -> Collapse:
    """Apply the collapse rule (module docstring) to a run's logged returns; NaN returns (epochs
    in which no episode finished) are skipped."""
    finite = np.isfinite(returns)
    r, e = np.asarray(returns, dtype=float)[finite], np.asarray(epochs)[finite]
    if len(r) < 3 * WINDOW:
        return Collapse(False, np.nan, np.nan, np.nan, np.nan)
    sums = np.cumsum(np.concatenate([[0.0], r]))
    means = (sums[WINDOW:] - sums[:-WINDOW]) / WINDOW  # means[j] averages r[j : j + WINDOW]
    j = int(np.argmax(means[: len(r) - 2 * WINDOW + 1]))
    first, peak, final = means[0], means[j], means[-1]
    noise = np.std(np.diff(r), ddof=1) / np.sqrt(2)  # sd of one return, trend differenced away
    se = noise * np.sqrt(2 / WINDOW)
    fallen = peak - final
    collapsed = bool(peak > first and fallen > drop * (peak - first) and fallen > SIGNIFICANCE * se)
    return Collapse(collapsed, float(first), float(peak), float(e[j + WINDOW // 2]), float(final))
