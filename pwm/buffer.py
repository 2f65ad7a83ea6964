"""Replay buffer of real transitions, one ring per environment, sampled as sequences that
never cross an episode boundary. Terminations (the episode ended in a state that has no
future: the body fell) are kept apart from truncations (a time limit, or a staggered start)."""
import numpy as np
import torch


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
        """`length` consecutive transitions of one episode: obs [B, D] and
        next_obs [L, B, D], action [L, B, A], reward [L, B, 1], terminated [L, B, 1]."""
        oldest = max(0, self.count - self.cap)
        newest_start = self.count - length
        if newest_start < oldest:
            raise ValueError(f"buffer holds fewer than {length} steps per environment")
        envs, starts = [], []
        while len(starts) < batch:
            e = rng.integers(0, self.num_envs, size=2 * batch)
            s = rng.integers(oldest, newest_start + 1, size=2 * batch)
            ok = self.episode[e, s % self.cap] == self.episode[e, (s + length - 1) % self.cap]
            envs.extend(e[ok].tolist())
            starts.extend(s[ok].tolist())
        e = np.asarray(envs[:batch])[None]
        idx = (np.asarray(starts[:batch])[None] + np.arange(length)[:, None]) % self.cap
        as_tensor = lambda x: torch.as_tensor(x, device=device)  # noqa: E731
        return {
            "obs": as_tensor(self.obs[e[0], idx[0]]),
            "next_obs": as_tensor(self.next_obs[e, idx]),
            "action": as_tensor(self.action[e, idx]),
            "reward": as_tensor(self.reward[e, idx][..., None]),
            "terminated": as_tensor(self.terminated[e, idx][..., None]),
        }

    def sample_obs(self, batch: int, rng: np.random.Generator, device) -> torch.Tensor:
        filled = min(self.count, self.cap)
        e = rng.integers(0, self.num_envs, size=batch)
        i = rng.integers(0, filled, size=batch)
        return torch.as_tensor(self.obs[e, i], device=device)

    def state_dict(self) -> dict:
        n = min(self.count, self.cap)
        return {"count": self.count, "current_episode": self.current_episode.copy(),
                **{k: getattr(self, k)[:, :n].copy() for k in FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        self.count = state["count"]
        self.current_episode[:] = state["current_episode"]
        n = min(self.count, self.cap)
        for k in FIELDS:
            getattr(self, k)[:, :n] = state[k]
