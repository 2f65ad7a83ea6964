"""Reading run folders written by pwm-train, finished or not.

A finished run has final/status.json and final/metrics.parquet; a run that is still going,
diverged, failed or was killed only has the live status.json and metrics.parquet at the top of
its folder (possibly stale: a SIGKILLed trainer leaves "running" behind). The aggregate step
reads whichever exists, so a report can describe a sweep in any state.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.results.health import WINDOW, Collapse, collapse
from pwm.run_dir import read_parquet_once


class UnreadableFile(ValueError):
    """A file of a run folder that exists but cannot be used; the message starts with
    "unreadable <name>:" and says why, for the report's flagged row."""


def read_status(run_dir: Path) -> dict | None:
    """final/status.json when the run completed, else the live status.json, else None. Raises
    UnreadableFile for a file that is not a pwm-train status (empty, not UTF-8, not JSON, not an
    object with a text `state`)."""
    for path in (run_dir / "final" / "status.json", run_dir / "status.json"):
        if path.exists():
            return parse_status(path)
    return None


def parse_status(path: Path) -> dict:
    try:
        status = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnreadableFile(f"unreadable {path.name}: {type(err).__name__}: {err}") from None
    if not isinstance(status, dict) or not isinstance(status.get("state"), str):
        raise UnreadableFile(f"unreadable {path.name}: not a pwm-train status (a JSON object with a text 'state')")
    return status


def metrics_path(run_dir: Path) -> Path | None:
    """final/metrics.parquet when the run completed, else the live one, else None."""
    for path in (run_dir / "final" / "metrics.parquet", run_dir / "metrics.parquet"):
        if path.exists():
            return path
    return None


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """The run's metrics (see metrics_path), or an empty frame."""
    path = metrics_path(run_dir)
    return read_parquet_once(path) if path else pd.DataFrame()


def read_param_counts(run_dir: Path) -> dict:
    """World-model and total parameter counts from param_counts.json (NaN when absent)."""
    path = run_dir / "param_counts.json"
    try:
        counts = json.loads(path.read_text())
        counts = {key: float(value) for key, value in counts.items()}
    except (OSError, ValueError, TypeError, AttributeError):  # absent or damaged: unknown, not fatal
        return {"params_world_model": np.nan, "params_total": np.nan}
    policy = counts.get("actor", 0) + counts.get("critics", 0)
    return {"params_world_model": sum(counts.values()) - policy, "params_total": sum(counts.values())}


def training_summary(epochs: np.ndarray, returns: np.ndarray, collapse_drop: float) -> tuple[dict, Collapse]:
    """Peak, first-10 and final-10 training return and the collapse flag, plus the collapse
    rule's own numbers; used by aggregate and by pwm-status alike.

    Epochs in which no episode finished log NaN and are skipped. The peak is the best single
    logged return (a diagnostic, optimistic by construction); `collapsed` is the rule of
    pwm.results.health.
    """
    epochs, returns = np.asarray(epochs), np.asarray(returns, dtype=float)
    rule = collapse(epochs, returns, collapse_drop)
    finite = np.isfinite(returns)
    r, e = returns[finite], epochs[finite]
    if not len(r):
        return {"first10_return": np.nan, "peak_return": np.nan, "peak_epoch": np.nan,
                "final10_return": np.nan, "collapsed": False}, rule
    best = int(np.argmax(r))
    return {"first10_return": float(r[:WINDOW].mean()), "peak_return": float(r[best]), "peak_epoch": e[best],
            "final10_return": float(r[-WINDOW:].mean()), "collapsed": rule.collapsed}, rule


CLIP_ROLES = ("best", "worst")


def read_clips(clips_root: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """Every configuration's clips under `clips_root` (task/size/variant/clips.json beside
    best.gif and worst.gif): one record per clip with its configuration, role, seed, evaluated
    return and GIF bytes; and the files that could not be read (path, why)."""
    clips, unreadable = [], []
    for summary in sorted(Path(clips_root).glob("*/*/*/clips.json")):
        variant, size, task = summary.parent.name, summary.parent.parent.name, summary.parent.parent.parent.name
        try:
            chosen = json.loads(summary.read_text())
            for role in CLIP_ROLES:
                clips.append({"task": task, "size": size, "variant": variant, "role": role, **chosen[role],
                              "gif": (summary.parent / f"{role}.gif").read_bytes()})
        except (OSError, ValueError, KeyError, TypeError) as err:
            unreadable.append((str(summary), f"unreadable policy clips: {type(err).__name__}: {err}"))
    return clips, unreadable
