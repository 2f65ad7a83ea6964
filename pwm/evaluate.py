"""Honest evaluation: the deterministic policy tanh(mean) acting in the real environment,
closed loop (every real observation re-encoded), real rewards, fixed evaluation seeds."""
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pwm import checkpoint
from pwm.agent import Actor
from pwm.config import from_yaml_text, variant_name
from pwm.envs import make_vector_env
from pwm.world_model import WorldModel


class Policy:
    """The acting half of a checkpoint: encoder + actor."""

    def __init__(self, weights: dict, device="cpu"):
        self.cfg = from_yaml_text(weights["config"])
        self.device = torch.device(device)
        self.world_model = WorldModel(self.cfg, weights["obs_dim"], weights["action_dim"]).to(self.device)
        self.world_model.load_state_dict(weights["world_model"])
        self.actor = Actor.from_config(self.cfg.model, self.world_model.latent_dim, weights["action_dim"]).to(self.device)
        self.actor.load_state_dict(weights["actor"])
        self.epoch, self.env_steps = weights["epoch"], weights["env_steps"]

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        z = self.world_model.encode(torch.as_tensor(obs, device=self.device))
        return self.actor(z, deterministic=True).cpu().numpy()


def run_episodes(policy, task: str, seeds: list[int], action_repeat: int | None = None) -> list[dict]:
    """One episode per seed, all environments stepped together until each has finished once."""
    env = make_vector_env(task, seeds, action_repeat)
    obs, _ = env.reset(seed=seeds)
    returns, lengths = np.zeros(len(seeds)), np.zeros(len(seeds), np.int64)
    running = np.ones(len(seeds), bool)
    while running.any():
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        returns += np.where(running, reward, 0.0)
        lengths += running
        running &= ~(terminated | truncated)
    env.close()
    return [{"eval_seed": s, "return": float(r), "length": int(n)} for s, r, n in zip(seeds, returns, lengths)]


def evaluate_checkpoint(path: Path, episodes: int, seed_base: int, device="cpu", batch: int = 16) -> pd.DataFrame:
    policy = Policy(checkpoint.load(path, device), device)
    cfg = policy.cfg
    seeds = [seed_base + i for i in range(episodes)]
    results = []
    for start in range(0, episodes, batch):
        results += run_episodes(policy, cfg.task, seeds[start:start + batch], cfg.env.action_repeat)
    df = pd.DataFrame(results)
    df.insert(0, "episode", range(len(df)))
    for col, value in reversed(list({
        "task": cfg.task, "size": cfg.size, "variant": variant_name(cfg.dynamics), "seed": cfg.seed,
        "checkpoint_epoch": policy.epoch, "env_steps": policy.env_steps}.items())):
        df.insert(0, col, value)
    return df
