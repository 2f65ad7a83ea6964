"""The run directory: its layout, the exclusive lock and the live status file.

    config.yaml          resolved config            status.json      live state
    metrics.parquet      one row per epoch (live)   param_counts.json
    checkpoints/         weights every N epochs, evaluated by pwm-eval
    state/               full resume state (last two kept), the buffer as a manifest of chunks
    buffer/              the replay buffer's append-only chunk files (pwm.buffer), shared by states
    final/               metrics.parquet, status.json, checkpoint.pt; written on completion
"""
import fcntl
import json
import os
import resource
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


STATUS_TIME = "%Y-%m-%dT%H:%M:%S%z"  # format of status.json's `updated`


class RunDirLockedError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self): return self.root / "config.yaml"
    @property
    def status(self): return self.root / "status.json"
    @property
    def metrics(self): return self.root / "metrics.parquet"
    @property
    def param_counts(self): return self.root / "param_counts.json"
    @property
    def checkpoints(self): return self.root / "checkpoints"
    @property
    def state(self): return self.root / "state"
    @property
    def final(self): return self.root / "final"

    def lock(self):
        """Hold an exclusive lock for the life of the process: flock on train.lock (released by the
        OS even on SIGKILL), or, where the file system has no flock (some NFS/Lustre mounts), an
        exclusively created train.pid naming pid and host, taken over when that pid is gone."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / "train.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise self._locked(holder) from None
        except OSError:  # ENOLCK / EOPNOTSUPP: no flock here
            handle.close()
            return self._pid_lock()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{_holder()}\n")
        handle.flush()
        return handle

    def _locked(self, holder: str) -> "RunDirLockedError":
        return RunDirLockedError(f"run directory {self.root} is in use by another trainer ({holder}); "
                                 "wait for it to finish or stop it first")

    def _pid_lock(self) -> "_PidLock":
        path = self.root / "train.pid"
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = path.read_text().strip()
                pid, _, host = holder.removeprefix("pid ").partition(" on ")
                if host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid)):
                    path.unlink(missing_ok=True)  # its trainer died without releasing it
                    continue
                raise self._locked(holder) from None
            os.write(fd, f"{_holder()}\n".encode())
            os.close(fd)
            return _PidLock(path)
        raise self._locked(path.read_text().strip())

    def write_status(self, state: str, **fields) -> dict:
        status = {"state": state, **fields, "host": socket.gethostname(), "pid": os.getpid(),
                  "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                  "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # Linux: KiB
                  "updated": time.strftime(STATUS_TIME)}
        write_json_atomic(self.status, status)
        return status

    def write_metrics(self, rows: list[dict]) -> None:
        write_parquet_atomic(pd.DataFrame(rows), self.metrics)


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; renamed over it on success, removed on any failure
    (a full disk leaves neither a half-written file nor a stray temporary one)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _PidLock:
    """The fallback lock; `close()` releases it, as closing the flock'ed handle does."""

    def __init__(self, path: Path):
        self.path = path

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def read_parquet_once(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a parquet file that a running trainer may replace at any moment, through one open
    handle: the writes are atomic renames, but pandas' and pyarrow's path readers open the path
    more than once (footer, then pages) and can mix two versions of the file."""
    with open(path, "rb") as handle:
        return pq.read_table(handle, columns=columns, use_threads=False).to_pandas()
