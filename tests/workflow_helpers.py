"""Helpers of the workflow and analysis tests: running Snakemake on the repository's workflow,
and writing synthetic run folders in pwm-train's layout."""
import json
import os
import subprocess
import time
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from pwm.run_dir import STATUS_TIME

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# The environment of every Snakemake run in the tests: the rules call pwm-train & co. by name, so
# the test interpreter's bin folder goes first on PATH, as an activated environment would put it.
TOOL_ENV = {**os.environ, "MUJOCO_GL": "disable",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def snakemake(*args, cwd=REPO, timeout=300, profile="none") -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile; output (stdout + stderr) in `.stdout`.

    `profile` is the workflow profile: "none" keeps tests independent of profiles/default,
    a path uses that profile.
    """
    cmd = [SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--workflow-profile", str(profile), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=TOOL_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run as {rule: count}."""
    counts = {}
    lines = output.splitlines()
    start = lines.index("Job stats:")
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def utc(minutes_ago: float = 0.0) -> str:
    """A status.json timestamp (pwm.run_dir's format)."""
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return moment.strftime(STATUS_TIME)


def write_run(root: Path, task: str, size: str, variant: str, seed: int, *, epochs: int = 40,
              state: str | None = "completed", returns=None, evals: dict | None = None,
              updated_minutes_ago: float = 0.0) -> dict:
    """A run folder as pwm-train leaves it, plus pwm-eval files; returns the aggregate record.

    `returns`: training return per epoch (len = epochs reached); `evals`: {epoch: [returns]};
    `state`: None for a run that never started.
    """
    run_dir = root / "runs" / task / size / variant / f"seed{seed}"
    record = {"task": task, "size": size, "variant": variant, "seed": seed, "run_dir": str(run_dir),
              "epochs": epochs, "evaluations": []}
    if state is None:
        return record
    run_dir.mkdir(parents=True)
    returns = np.asarray(returns if returns is not None else np.linspace(0, 100, epochs), dtype=float)
    epoch = np.arange(1, len(returns) + 1)
    metrics = pd.DataFrame({"epoch": epoch, "env_steps": epoch * 256, "wall_s": epoch * 1.5,
                            "episode_return": returns, "loss/actor": 0.1})
    status = {"state": state, "reason": None if state in ("completed", "running") else f"{state} on purpose",
              "epoch": int(len(returns)), "epochs": epochs, "host": "node1", "pid": 1,
              "slurm_job_id": "123", "updated": utc(updated_minutes_ago), "device": "cpu", "precision": "bf16",
              "max_rss_mb": 2048.0}
    metrics.to_parquet(run_dir / "metrics.parquet")
    last_write = time.time() - 60 * updated_minutes_ago  # the trainer's last sign of life
    os.utime(run_dir / "metrics.parquet", (last_write, last_write))
    (run_dir / "status.json").write_text(json.dumps(status))
    (run_dir / "param_counts.json").write_text(json.dumps({"encoder": 10, "dynamics": 20, "reward": 30,
                                                            "actor": 5, "critics": 7}))
    if state == "completed":
        (run_dir / "final").mkdir()
        metrics.to_parquet(run_dir / "final" / "metrics.parquet")
        (run_dir / "final" / "status.json").write_text(json.dumps(status))
    for ckpt, values in (evals or {}).items():
        path = root / "evaluations" / task / size / variant / f"seed{seed}" / f"epoch{ckpt}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"task": task, "size": size, "variant": variant, "seed": seed, "checkpoint_epoch": ckpt,
                      "env_steps": ckpt * 256, "episode": range(len(values)),
                      "eval_seed": [1_000_000 + i for i in range(len(values))], "return": values,
                      "length": 500}).to_parquet(path)
        record["evaluations"].append(str(path))
    return record


SETTINGS = {"confidence_level": 0.95, "bootstrap_resamples": 2000, "collapse_drop": 0.5,
            "stale_after_minutes": 60, "curve_smoothing": 5}
