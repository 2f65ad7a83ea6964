"""Multi-task data in TD-MPC2's published format, and sampling from it.

A chunk file is a torch-saved TensorDict of batch size [episodes, L + 1] with keys
  obs     [E, L+1, obs_dim]   observation t (t = 0 is the reset observation)
  action  [E, L+1, act_dim]   the action that led to observation t (NaN at t = 0)
  reward  [E, L+1]            the reward of that action (NaN at t = 0)
  task    [E, L+1]            task id (an index into `TASK_IDS`, MT30 order)
with fixed-length episodes (L + 1 = 501 for MT30). The pipeline writes the same format from the
replay buffers of single-task runs and from random-policy collection, so one reader serves both.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pwm.multitask.tasks import TASK_IDS, TaskSet, pad_last


class DatasetError(ValueError):
    """The data does not hold what the configuration asks for; the message says what it holds."""


@dataclass
class Episodes:
    """Fixed-length episodes of one task in chunk layout (numpy)."""

    obs: np.ndarray  # [E, L+1, D]
    action: np.ndarray  # [E, L+1, A], NaN at t = 0
    reward: np.ndarray  # [E, L+1], NaN at t = 0
    task: np.ndarray  # [E, L+1] int64

    def __len__(self) -> int:
        return self.obs.shape[0]

    @classmethod
    def build(cls, obs: list, action: list, reward: list, task_id: int) -> "Episodes":
        """From per-episode arrays obs [L+1, D], action [L, A], reward [L] (all of one length)."""
        obs_a = np.stack(obs).astype(np.float32)
        e, steps = obs_a.shape[:2]
        act = np.full((e, steps, np.shape(action[0])[-1]), np.nan, np.float32)
        act[:, 1:] = np.stack(action)
        rew = np.full((e, steps), np.nan, np.float32)
        rew[:, 1:] = np.stack(reward)
        return cls(obs_a, act, rew, np.full((e, steps), task_id, np.int64))


def write_chunk(episodes: Episodes, path: Path) -> None:
    """Save episodes as a TD-MPC2 chunk file (atomically)."""
    from tensordict import TensorDict

    from pwm.checkpoint import save_atomic

    td = TensorDict({k: torch.from_numpy(getattr(episodes, k)) for k in ("obs", "action", "reward", "task")},
                    batch_size=list(episodes.obs.shape[:2]))
    save_atomic(td, Path(path))


def read_chunk(path: Path) -> Episodes:
    """A chunk file as written by TD-MPC2 or `write_chunk` (a TensorDict or a plain dict)."""
    td = torch.load(path, map_location="cpu", weights_only=False)
    missing = [k for k in ("obs", "action", "reward", "task") if k not in td.keys()]
    if missing:
        raise DatasetError(f"{path} is not a TD-MPC2 chunk file: keys {missing} missing (has {list(td.keys())})")
    obs = td["obs"].float().numpy()
    e, steps = obs.shape[:2]
    reward = td["reward"].float().numpy().reshape(e, steps)
    task = td["task"].long().reshape(e, -1)[:, :1].expand(e, steps)  # [E], [E, L+1] or [E, L+1, 1]: one task per episode
    return Episodes(obs, td["action"].float().numpy(), reward, task.numpy().copy())


def chunk_files(sources) -> list[Path]:
    """The chunk files named by `sources`: files, or directories holding *.pt files."""
    files = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted(source.glob("*.pt"))
            if not found:
                raise DatasetError(f"no *.pt chunk files in {source}")
            files += found
        elif source.is_file():
            files.append(source)
        else:
            raise DatasetError(f"data source {source} does not exist")
    return files


class MultiTaskData:
    """Episodes of every task of a task set, observations and actions padded to the set's widths.
    Per task, all episodes share one length (the format's rule); tasks may differ."""

    def __init__(self, task_set: TaskSet, per_task: dict[str, Episodes]):
        self.task_set = task_set
        self.obs, self.action, self.reward = [], [], []
        for name in task_set.names:
            ep = per_task[name]
            self.obs.append(pad_last(ep.obs, task_set.obs_dim))
            self.action.append(pad_last(np.nan_to_num(ep.action), task_set.action_dim))
            self.reward.append(np.nan_to_num(ep.reward))

    @classmethod
    def load(cls, sources, task_set: TaskSet, id_names: list[str] = TASK_IDS) -> "MultiTaskData":
        """Read chunk files; task ids are indices into `id_names`. A task of the set with no
        episodes in the data is an error that lists the tasks the data does hold."""
        found: dict[str, list[Episodes]] = {name: [] for name in task_set.names}
        seen = set()
        for path in chunk_files(sources):
            ep = read_chunk(path)
            for task_id in np.unique(ep.task[:, 0]):
                if not 0 <= task_id < len(id_names):
                    raise DatasetError(f"{path}: task id {task_id} is outside the task list ({len(id_names)} tasks)")
                name = id_names[task_id]
                seen.add(name)
                if name in found:
                    rows = ep.task[:, 0] == task_id
                    found[name].append(Episodes(ep.obs[rows], ep.action[rows], ep.reward[rows], ep.task[rows]))
        absent = [t for t, eps in found.items() if not eps]
        if absent:
            raise DatasetError(f"tasks {absent} of the task set have no episodes in the data; "
                               f"the data holds: {sorted(seen)}")
        per_task = {}
        for name, eps in found.items():
            lengths = sorted({e.obs.shape[1] for e in eps})
            if len(lengths) > 1:
                raise DatasetError(f"episodes of task {name} have different lengths {lengths}; "
                                   "the chunk format needs one fixed length per task")
            i = task_set.index(name)
            obs_dim, action_dim = eps[0].obs.shape[2], eps[0].action.shape[2]
            if obs_dim > task_set.obs_dim or action_dim > task_set.action_dim:
                raise DatasetError(f"task {name}: data has obs/action dims {obs_dim}/{action_dim}, "
                                   f"the environment {task_set.obs_dims[i]}/{task_set.action_dims[i]}")
            per_task[name] = Episodes(*(np.concatenate([getattr(e, k) for e in eps]) for k in ("obs", "action", "reward", "task")))
        return cls(task_set, per_task)

    def episodes(self, task: str) -> int:
        return self.obs[self.task_set.index(task)].shape[0]

    def transitions(self) -> int:
        return sum(o.shape[0] * (o.shape[1] - 1) for o in self.obs)

    def sample_sequences(self, batch: int, length: int, rng: np.random.Generator, device, task: str | None = None) -> dict:
        """`length` consecutive transitions: obs [B, D], next_obs [L, B, D], action [L, B, A],
        reward [L, B, 1], task [B]. Tasks are drawn uniformly (or fixed to `task`)."""
        n = len(self.task_set.names)
        tasks = np.full(batch, self.task_set.index(task)) if task else rng.integers(0, n, batch)
        obs, next_obs, action, reward = [], [], [], []
        for t in tasks:
            steps = self.obs[t].shape[1] - 1
            if steps < length:
                raise DatasetError(f"episodes of {self.task_set.names[t]} have {steps} steps, fewer than {length}")
            e = rng.integers(0, self.obs[t].shape[0])
            s = rng.integers(0, steps - length + 1)
            obs.append(self.obs[t][e, s])
            next_obs.append(self.obs[t][e, s + 1: s + 1 + length])
            action.append(self.action[t][e, s + 1: s + 1 + length])
            reward.append(self.reward[t][e, s + 1: s + 1 + length])
        as_tensor = lambda x: torch.as_tensor(np.asarray(x), device=device)  # noqa: E731
        return {"obs": as_tensor(obs), "next_obs": as_tensor(np.stack(next_obs, 1)),
                "action": as_tensor(np.stack(action, 1)), "reward": as_tensor(np.stack(reward, 1)[..., None]),
                "task": as_tensor(tasks.astype(np.int64))}

    def sample_obs(self, batch: int, rng: np.random.Generator, device, task: str) -> torch.Tensor:
        """Observations of one task (start states of the imagined rollouts)."""
        obs = self.obs[self.task_set.index(task)]
        e = rng.integers(0, obs.shape[0], batch)
        t = rng.integers(0, obs.shape[1], batch)
        return torch.as_tensor(obs[e, t], device=device)
