"""Shared test helpers: a tiny but real training configuration and console-script runners."""
import subprocess
import sys
from pathlib import Path

# Real dm_control task, real networks (1M preset), but a handful of updates per epoch.
TINY = [
    "task=cartpole-swingup", "size=1M", "seed=3", "env.num_envs=2", "env.steps_per_epoch=4",
    "agent.random_steps=64", "agent.warmup_updates=2", "agent.model_updates_per_epoch=2",
    "agent.actor_updates_per_epoch=1", "agent.batch_size=16", "agent.actor_batch_size=8",
    "agent.horizon=4", "agent.model_horizon=3", "agent.critic_iterations=2", "agent.critic_minibatches=2",
    "agent.buffer_capacity=4000", "log_every=1",
]


def bin_path(name: str) -> str:
    """A console script of the running interpreter's environment."""
    return str(Path(sys.executable).parent / name)


def run_cli(name: str, args: list[str], timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path(name), *args], capture_output=True, text=True, timeout=timeout, **kw)


def run_cli_read_only(name: str, args: list[str], read_only: Path, timeout=300) -> subprocess.CompletedProcess:
    """A console script run while `read_only` (an existing folder) is a read-only file system: a
    fresh empty tmpfs mounted read-only over it in a private mount namespace (util-linux's
    unshare, as root or in an unprivileged user namespace), so that root is refused too."""
    mount = 'mount -t tmpfs -o ro none "$0" && exec "$@"'
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, str(read_only),
                           bin_path(name), *args], capture_output=True, text=True, timeout=timeout)
