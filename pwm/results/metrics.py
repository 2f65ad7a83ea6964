"""Reading a run's metrics.parquet cheaply: only the columns the report needs, decoded only
when their footer statistics cannot stand in for them.

A 20,000-epoch run's file holds 20,000 rows of ~20 columns and decoding a column costs about a
millisecond, so on a 3,000-run sweep every decoded column costs seconds. pwm-train appends one
row per epoch, from epoch 1, with env_steps = epoch x a per-run constant and wall_s never
decreasing. So when the footer says epoch runs from 1 to the number of rows, the epochs are
1..n; env_steps per epoch is max(env_steps) / max(epoch); the wall time so far is max(wall_s), the CPU time max(cpu_s).
Only episode_return is always decoded, and wall_s when a running run's pace is needed for its
ETA. Files that do not fit (a gap in epochs) are decoded in full.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Metrics:
    """A run's training metrics, as far as the report needs them; `wall_s` per epoch only when asked."""

    epoch: np.ndarray
    episode_return: np.ndarray
    steps_per_epoch: float
    wall_total: float
    cpu_total: float  # CPU seconds of the trainer over all attempts (NaN in files from before cpu_s was logged)
    wall_s: np.ndarray | None = None


NONE = Metrics(np.empty(0), np.empty(0), np.nan, np.nan, np.nan)



def column_range(meta: pq.FileMetaData, index: int) -> tuple | None:
    """(min, max) of a column from the footer statistics of every row group; None if any lacks them."""
    lows, highs = [], []
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max:
            return None
        lows.append(stats.min)
        highs.append(stats.max)
    return (min(lows), max(highs)) if lows else None


def read(path: Path, pace: bool) -> Metrics:
    """The metrics in `path`; with `pace`, wall_s per epoch as well (raises OSError or
    pyarrow.ArrowException on a file that is not readable parquet)."""
    with open(path, "rb") as handle:  # one handle: the trainer may replace the file meanwhile
        return _read(pq.ParquetFile(handle, pre_buffer=False), pace)  # no read planning: ~25% cheaper here


def _read(file: pq.ParquetFile, pace: bool) -> Metrics:
    meta, names = file.metadata, file.schema_arrow.names
    n = meta.num_rows

    def stat(name):
        return column_range(meta, names.index(name)) if name in names else None

    consecutive = stat("epoch") == (1, n)
    wanted = [c for c in ("episode_return", "wall_s" if pace else "", "" if consecutive else "epoch") if c in names]
    table = file.read(columns=wanted, use_threads=False)
    decoded = {c: table.column(c).to_numpy().astype(float) for c in wanted}
    epoch = decoded.get("epoch", np.arange(1, n + 1, dtype=float))
    steps, wall, cpu = stat("env_steps"), stat("wall_s"), stat("cpu_s")
    return Metrics(epoch, decoded.get("episode_return", np.full(n, np.nan)),
                   steps[1] / epoch[-1] if steps and n else np.nan, wall[1] if wall else np.nan,
                   cpu[1] if cpu else np.nan, decoded.get("wall_s"))
