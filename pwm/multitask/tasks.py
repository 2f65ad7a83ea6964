"""Task ids and padding. Ids follow TD-MPC2's MT30 order, so that its published datasets and
the ones this pipeline writes share one id space; the gymnasium tasks come after MT30."""
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from pwm.envs import GYM_TASKS, TASKS, make_env

# TD-MPC2's MT30 task order (19 stock dm_control tasks, then 11 custom ones this package cannot
# simulate: they may appear in a dataset, not in a task set that is evaluated).
MT30 = [
    "walker-stand", "walker-walk", "walker-run", "cheetah-run", "reacher-easy",
    "reacher-hard", "acrobot-swingup", "pendulum-swingup", "cartpole-balance", "cartpole-balance-sparse",
    "cartpole-swingup", "cartpole-swingup-sparse", "cup-catch", "finger-spin", "finger-turn-easy",
    "finger-turn-hard", "fish-swim", "hopper-stand", "hopper-hop",
    "walker-walk-backwards", "walker-run-backwards", "cheetah-run-backwards", "cheetah-run-front",
    "cheetah-run-back", "cheetah-jump", "hopper-hop-backwards", "reacher-three-easy", "reacher-three-hard",
    "cup-spin", "pendulum-spin",
]
TASK_IDS: list[str] = MT30 + list(GYM_TASKS)  # the id of a task in data files = its index here


class TaskSetError(ValueError):
    """A task set names a task that cannot be simulated, or a task twice."""


@cache
def task_dims(task: str) -> tuple[int, int]:
    """(observation dim, action dim) of a task, read from a real environment."""
    env = make_env(task, seed=0)
    dims = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    return dims


@dataclass(frozen=True)
class TaskSet:
    """The tasks of one multi-task world model, in the order of its embedding rows, with
    observations zero-padded to the widest observation and actions to the widest action."""

    names: tuple[str, ...]
    obs_dims: tuple[int, ...]
    action_dims: tuple[int, ...]

    @classmethod
    def of(cls, names) -> "TaskSet":
        names = tuple(names)
        unknown = [n for n in names if n not in TASKS]
        if unknown or not names:
            raise TaskSetError(f"task set {list(names)} has tasks that cannot be simulated: {unknown}; "
                               f"known tasks: {', '.join(TASKS)}")
        if len(set(names)) != len(names):
            raise TaskSetError(f"task set {list(names)} names a task twice")
        dims = [task_dims(n) for n in names]
        return cls(names, tuple(d[0] for d in dims), tuple(d[1] for d in dims))

    @property
    def obs_dim(self) -> int:
        return max(self.obs_dims)

    @property
    def action_dim(self) -> int:
        return max(self.action_dims)

    def index(self, task: str) -> int:
        if task not in self.names:
            raise TaskSetError(f"task {task!r} is not in the task set {list(self.names)}")
        return self.names.index(task)

    def action_mask(self, task: str) -> torch.Tensor:
        """1 for the task's own action dimensions, 0 for the padding."""
        mask = torch.zeros(self.action_dim)
        mask[: self.action_dims[self.index(task)]] = 1
        return mask

    def pad_obs(self, obs: np.ndarray) -> np.ndarray:
        return pad_last(obs, self.obs_dim)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "obs_dims": list(self.obs_dims), "action_dims": list(self.action_dims)}

    @classmethod
    def from_dict(cls, d: dict) -> "TaskSet":
        return cls(tuple(d["names"]), tuple(d["obs_dims"]), tuple(d["action_dims"]))


def pad_last(x: np.ndarray, width: int) -> np.ndarray:
    """Zero-pad the last axis to `width` (TD-MPC2's multi-task padding)."""
    if x.shape[-1] > width:
        raise ValueError(f"cannot pad width {x.shape[-1]} down to {width}")
    pad = [(0, 0)] * (x.ndim - 1) + [(0, width - x.shape[-1])]
    return np.pad(x, pad)
