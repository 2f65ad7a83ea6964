"""Atomic checkpoint files and recovery of the newest readable one."""
import os
from pathlib import Path

import torch

from pwm.run_dir import atomic_path


def save_atomic(obj, path: Path) -> None:
    """Write to a temporary file, fsync, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def load(path: Path, device="cpu"):
    return torch.load(path, map_location=device, weights_only=False)


def epoch_file(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:06d}.pt"


def load_newest_readable(directory: Path, device="cpu", log=print):
    """The newest checkpoint in `directory` that loads; corrupt or truncated ones are skipped
    (and reported). Returns None when there is none."""
    for path in sorted(directory.glob("epoch_*.pt"), reverse=True):
        try:
            return load(path, device)
        except Exception as err:  # a truncated zip raises RuntimeError, a garbled one pickle errors
            log(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); trying an older one")
    return None


def prune(directory: Path, keep: int) -> None:
    """Keep only the `keep` newest checkpoints (full resume states are large)."""
    for path in sorted(directory.glob("epoch_*.pt"), reverse=True)[keep:]:
        path.unlink()
