"""Replay buffer of real transitions, one ring per environment, sampled as fixed-length windows
with a mask of the steps that still belong to the window's first episode: every transition can
be sampled at every position, so episodes shorter than the window (a Hopper that falls within
16 steps) and the steps that end in a fall are trained on as often as any. Terminations (the
episode ended in a state that has no future: the body fell) are kept apart from truncations (a
time limit, or a staggered start).

Persistence is append-only: each resume state writes only the steps added since the previous
one, as a chunk file `buffer/<first step>-<end step>.npz` in the run folder, and records a small
manifest (step count, episode counters, the chunk files that hold the ring's window). Successive
states share their chunks, so a state costs what is new rather than the whole buffer.
"""
import os
from pathlib import Path

import numpy as np
import torch

from pwm.run_dir import atomic_path


FIELDS = ("obs", "next_obs", "action", "reward", "terminated", "episode")


class ReplayBuffer:
    def __init__(self, num_envs: int, capacity: int, obs_dim: int, action_dim: int):
        self.num_envs, self.cap = num_envs, max(1, capacity // num_envs)
        self.obs = np.zeros((num_envs, self.cap, obs_dim), np.float32)
        self.next_obs = np.zeros((num_envs, self.cap, obs_dim), np.float32)
        self.action = np.zeros((num_envs, self.cap, action_dim), np.float32)
        self.reward = np.zeros((num_envs, self.cap), np.float32)
        self.terminated = np.zeros((num_envs, self.cap), np.float32)
        self.episode = np.zeros((num_envs, self.cap), np.int64)
        self.current_episode = np.zeros(num_envs, np.int64)
        self.count = 0  # transitions written per environment, ever
        self.saved = 0  # steps already in chunk files

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """One step of every environment; `next_obs` is the true final observation at episode ends."""
        i = self.count % self.cap
        self.obs[:, i], self.action[:, i], self.reward[:, i], self.next_obs[:, i] = obs, action, reward, next_obs
        self.terminated[:, i] = terminated
        self.episode[:, i] = self.current_episode
        self.current_episode += np.asarray(terminated | truncated, dtype=np.int64)
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.cap) * self.num_envs

    def sample_sequences(self, batch: int, length: int, rng: np.random.Generator, device) -> dict:
        """`length` consecutive transitions from a uniform start: obs [B, D] and next_obs [L, B, D],
        action [L, B, A], reward [L, B, 1], terminated [L, B, 1], and valid [L, B, 1]: 1 while the
        step is of the start's episode (up to and including the step that ended it), 0 after."""
        oldest = max(0, self.count - self.cap)
        newest_start = self.count - length
        if newest_start < oldest:
            raise ValueError(f"buffer holds fewer than {length} steps per environment")
        e = rng.integers(0, self.num_envs, size=batch)[None]
        idx = (rng.integers(oldest, newest_start + 1, size=batch)[None] + np.arange(length)[:, None]) % self.cap
        as_tensor = lambda x: torch.as_tensor(x, device=device)  # noqa: E731
        return {
            "obs": as_tensor(self.obs[e[0], idx[0]]),
            "next_obs": as_tensor(self.next_obs[e, idx]),
            "action": as_tensor(self.action[e, idx]),
            "reward": as_tensor(self.reward[e, idx][..., None]),
            "terminated": as_tensor(self.terminated[e, idx][..., None]),
            "valid": as_tensor((self.episode[e, idx] == self.episode[e, idx[:1]]).astype(np.float32)[..., None]),
        }

    def sample_obs(self, batch: int, rng: np.random.Generator, device) -> torch.Tensor:
        filled = min(self.count, self.cap)
        e = rng.integers(0, self.num_envs, size=batch)
        i = rng.integers(0, filled, size=batch)
        return torch.as_tensor(self.obs[e, i], device=device)

    # --- persistence ----------------------------------------------------------------------
    def _window(self, count: int) -> tuple[int, int]:
        return max(0, count - self.cap), count

    def write_chunks(self, folder: Path) -> dict:
        """Write the steps added since the last call into a new chunk file, drop chunks no
        longer needed by this state or the previous one; return the manifest."""
        folder.mkdir(parents=True, exist_ok=True)
        _discard_from(folder, self.saved)  # chunks of a history this run did not take (a crash, a restart)
        start = max(self.saved, self.count - self.cap)
        if self.count > start:
            idx = np.arange(start, self.count) % self.cap
            with atomic_path(folder / f"{start:012d}-{self.count:012d}.npz") as tmp, open(tmp, "wb") as f:
                np.savez(f, **{k: getattr(self, k)[:, idx] for k in FIELDS})
                f.flush()
                os.fsync(f.fileno())
        previous_first = self._window(self.saved)[0]  # the previous state still needs its window
        for path, first, end in _chunks(folder):
            if end <= previous_first:
                path.unlink()
        self.saved = self.count
        first = self._window(self.count)[0]
        return {"count": self.count, "current_episode": self.current_episode.copy(),
                "chunks": [p.name for p, _, end in _chunks(folder) if end > first and end <= self.count]}

    def load_chunks(self, folder: Path, manifest: dict) -> None:
        """Fill the ring from the manifest's chunk files (a pure read)."""
        self.count, self.saved = manifest["count"], manifest["count"]
        self.current_episode[:] = manifest["current_episode"]
        first = self._window(self.count)[0]
        for name in manifest["chunks"]:
            start, end = (int(x) for x in name.removesuffix(".npz").split("-"))
            with np.load(folder / name) as chunk:
                steps = np.arange(start, end)
                keep = steps >= first
                for k in FIELDS:
                    getattr(self, k)[:, steps[keep] % self.cap] = chunk[k][:, keep]

    @classmethod
    def from_chunks(cls, folder: Path, manifest: dict, capacity: int) -> "ReplayBuffer":
        """A run's buffer as its trainer held it at that state, for readers of finished runs."""
        with np.load(folder / manifest["chunks"][0]) as chunk:
            num_envs, _, obs_dim = chunk["obs"].shape
            action_dim = chunk["action"].shape[-1]
        buffer = cls(num_envs, capacity, obs_dim, action_dim)
        buffer.load_chunks(folder, manifest)
        return buffer

    def arrays(self) -> dict:
        """The filled part of the rings ({field: [envs, steps held, ...]}, in ring order) with
        the step count and episode counters."""
        n = min(self.count, self.cap)
        return {"count": self.count, "current_episode": self.current_episode.copy(),
                **{k: getattr(self, k)[:, :n] for k in FIELDS}}

def _discard_from(folder: Path, step: int) -> None:
    """Remove the chunks that start at `step` or later: written after the state this buffer was
    loaded from (a future that did not happen), or by an earlier run of a restarted folder."""
    for path, first, _ in _chunks(folder):
        if first >= step:
            path.unlink()


def _chunks(folder: Path) -> list[tuple[Path, int, int]]:
    found = []
    for path in sorted(folder.glob("*-*.npz")):
        first, end = (int(x) for x in path.stem.split("-"))
        found.append((path, first, end))
    return found
