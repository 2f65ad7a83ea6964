"""Atomic checkpoint files, verified on load, and recovery of the newest readable one."""
import os
import zipfile
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


class DamagedCheckpointError(RuntimeError):
    pass


def load(path: Path, device="cpu"):
    """torch.load after checking every member's CRC-32: torch itself reads damaged bytes
    (e.g. a zeroed block) without notice."""
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
    if bad is not None:
        raise DamagedCheckpointError(f"{path}: member {bad} fails its CRC check (the file is damaged)")
    return torch.load(path, map_location=device, weights_only=False)


def epoch_file(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:06d}.pt"


class NoUsableStateError(RuntimeError):
    pass


def load_newest_readable(directory: Path, device="cpu", log=print, accept=None):
    """The newest checkpoint in `directory` that loads and that `accept(state)` takes (a state
    of this run, not of another one); damaged or foreign ones are skipped and reported. None
    when the directory holds no checkpoint; NoUsableStateError, naming them, when it holds some
    but none is usable (a silent restart would throw away the run)."""
    paths = sorted(directory.glob("epoch_*.pt"), reverse=True)
    for path in paths:
        try:
            state = load(path, device)
        except Exception as err:  # a truncated zip raises RuntimeError, a garbled one pickle errors
            log(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); trying an older one")
            continue
        if accept is None or accept(state):
            return state
        log(f"checkpoint {path} belongs to another run (its configuration differs); trying an older one")
    if paths:
        raise NoUsableStateError(f"no usable resume state among {', '.join(p.name for p in paths)} in {directory}; "
                                 "restart_if_no_state=true starts the run over at epoch 0")
    return None


def prune(directory: Path, keep: int) -> None:
    """Keep only the `keep` newest checkpoints (full resume states are large)."""
    for path in sorted(directory.glob("epoch_*.pt"), reverse=True)[keep:]:
        path.unlink()
