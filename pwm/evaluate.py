"""Honest evaluation: the deterministic policy tanh(mean) acting in the real environment,
closed loop (every real observation re-encoded), real rewards, fixed evaluation seeds."""
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pwm import checkpoint
from pwm.agent import Actor
from pwm.config import from_yaml_text, uses_termination, variant_name
from pwm.envs import make_vector_env
from pwm.world_model import WorldModel


def load_acting_world_model(world_model: WorldModel, weights: dict) -> None:
    """The checkpoint's world model as the policy acts with it: its encoder replaced by the
    policy's own (the averaged one, `agent.policy_average_rate`; checkpoints from before it have
    none and act with the live one)."""
    world_model.load_state_dict(weights["world_model"])
    if "policy_encoder" in weights:
        world_model.encoder.load_state_dict(weights["policy_encoder"])


class Policy:
    """The acting half of a single-task checkpoint: encoder + actor."""

    def __init__(self, weights: dict, device="cpu"):
        self.cfg = from_yaml_text(weights["config"])
        self.device = torch.device(device)
        self.world_model = WorldModel(self.cfg, weights["obs_dim"], weights["action_dim"],
                                      termination=uses_termination(self.cfg)).to(self.device)
        load_acting_world_model(self.world_model, weights)
        self.actor = Actor.from_config(self.cfg.model, self.world_model.latent_dim, weights["action_dim"]).to(self.device)
        self.actor.load_state_dict(weights["actor"])
        self.task, self.action_repeat = self.cfg.task, self.cfg.env.action_repeat
        self.labels = {"task": self.cfg.task, "size": self.cfg.size, "variant": variant_name(self.cfg.dynamics),
                       "seed": self.cfg.seed, "checkpoint_epoch": weights["epoch"], "env_steps": weights["env_steps"]}

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        z = self.world_model.encode(torch.as_tensor(obs, device=self.device))
        return self.actor(z, deterministic=True).cpu().numpy()


class MultiTaskPolicy:
    """The acting half of a per-task policy checkpoint: observations padded to the task set's
    width, encoded with the task's embedding; the padded action dimensions are dropped."""

    def __init__(self, weights: dict, device="cpu"):
        from pwm.config import PretrainConfig, TaskPolicyConfig
        from pwm.multitask.pretrain import build_world_model
        from pwm.multitask.tasks import TaskSet

        self.cfg = from_yaml_text(weights["config"], TaskPolicyConfig)
        wm_cfg = from_yaml_text(weights["world_model_config"], PretrainConfig)
        self.device = torch.device(device)
        self.task_set = TaskSet.from_dict(weights["task_set"])
        self.world_model = build_world_model(wm_cfg, self.task_set).to(self.device)
        load_acting_world_model(self.world_model, weights)
        self.actor = Actor.from_config(self.cfg.model, self.world_model.latent_dim, self.task_set.action_dim,
                                       self.task_set.action_mask(self.cfg.task)).to(self.device)
        self.actor.load_state_dict(weights["actor"])
        self.task, self.action_repeat = self.cfg.task, None
        index = self.task_set.index(self.task)
        self.task_id = torch.tensor([index], device=self.device)
        self.action_dim = self.task_set.action_dims[index]
        self.labels = {"task": self.task, "size": wm_cfg.size, "variant": variant_name(wm_cfg.dynamics),
                       "seed": self.cfg.seed, "checkpoint_epoch": weights["epoch"], "env_steps": 0}

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = torch.as_tensor(self.task_set.pad_obs(obs), device=self.device)
        z = self.world_model.encode(obs, self.task_id.expand(len(obs)))
        return self.actor(z, deterministic=True)[:, :self.action_dim].cpu().numpy()


def load_policy(weights: dict, device="cpu"):
    return (MultiTaskPolicy if weights.get("kind") == "multitask-policy" else Policy)(weights, device)


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


class CheckpointError(ValueError):
    """A path that is not a readable policy checkpoint; the message names it and says why."""


def read_checkpoint(path: Path, device="cpu") -> dict:
    """The weights of a policy checkpoint (checkpoints/epoch_N.pt, final/checkpoint.pt), or a
    CheckpointError naming the path: missing, a directory, unreadable or damaged, or a resume
    state (state/epoch_N.pt) or world-model checkpoint rather than a policy."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: {'is a directory' if path.is_dir() else 'no such file'}")
    try:
        weights = checkpoint.load(path, device)
    except Exception as err:  # truncated zip, random bytes, a pickle of something else
        raise CheckpointError(f"checkpoint {path} is not readable ({type(err).__name__}: {err})") from None
    if not isinstance(weights, dict) or "actor" not in weights:
        what = "a resume state" if isinstance(weights, dict) and "agent" in weights else "not a policy checkpoint"
        raise CheckpointError(f"checkpoint {path} is {what}: give checkpoints/epoch_N.pt or final/checkpoint.pt")
    return weights


def evaluate_checkpoint(path: Path, episodes: int, seed_base: int, device="cpu", batch: int = 16) -> pd.DataFrame:
    policy = load_policy(read_checkpoint(path, device), device)
    seeds = [seed_base + i for i in range(episodes)]
    results = []
    for start in range(0, episodes, batch):
        results += run_episodes(policy, policy.task, seeds[start:start + batch], policy.action_repeat)
    df = pd.DataFrame(results)
    df.insert(0, "episode", range(len(df)))
    for col, value in reversed(list(policy.labels.items())):
        df.insert(0, col, value)
    return df
