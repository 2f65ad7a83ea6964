"""The TD-MPC2-style world model: encoder, latent dynamics, reward head and, for tasks whose
episodes can end by termination, a termination head; optional task embedding for multi-task
use. It exposes verbs: encode, next, reward, continues."""
import torch
from torch import nn
import torch.nn.functional as F

from pwm.dynamics import build_dynamics
from pwm.layers import SimNorm, SymLog, count_params, init_weights, mlp, zero_last_linear
from pwm.math import soft_cross_entropy, two_hot_decode
from pwm.presets import SIZES


class TwoHotReward(nn.Module):
    """Reward as logits over bins in symlog space; trained with soft cross-entropy."""

    def __init__(self, in_dim, hidden, num_bins, vmin, vmax):
        super().__init__()
        self.net = mlp(in_dim, hidden, num_bins)
        self.num_bins, self.vmin, self.vmax = num_bins, vmin, vmax

    def forward(self, x):
        return self.net(x)

    def decode(self, out):
        return two_hot_decode(out, self.vmin, self.vmax)

    def loss(self, out, reward):
        return soft_cross_entropy(out, reward, self.num_bins, self.vmin, self.vmax)


class ScalarReward(nn.Module):
    """Reward as one number; trained with MSE."""

    def __init__(self, in_dim, hidden):
        super().__init__()
        self.net = mlp(in_dim, hidden, 1)

    def forward(self, x):
        return self.net(x)

    def decode(self, out):
        return out

    def loss(self, out, reward):
        return F.mse_loss(out, reward, reduction="none")


class WorldModel(nn.Module):
    def __init__(self, cfg, obs_dim: int, action_dim: int, num_tasks: int = 1, task_dim: int = 0,
                 termination: bool = False):
        super().__init__()
        preset = SIZES[cfg.size]
        m = cfg.model
        self.latent_dim, self.action_dim = preset.latent_dim, action_dim
        self.task_emb = nn.Embedding(num_tasks, task_dim, max_norm=1) if task_dim else None
        hidden = (preset.mlp_dim, preset.mlp_dim)
        za_dim = preset.latent_dim + action_dim + task_dim
        encoder = mlp(obs_dim + task_dim, preset.encoder_dims, preset.latent_dim, out_act=SimNorm(m.simnorm_dim))
        self.encoder = nn.Sequential(SymLog(), *encoder) if m.symlog_obs else encoder
        self.dynamics = build_dynamics(cfg.dynamics, za_dim, hidden, preset.latent_dim, m.simnorm_dim)
        self.reward_head = (TwoHotReward(za_dim, hidden, m.num_bins, m.vmin, m.vmax)
                            if m.reward_head == "twohot" else ScalarReward(za_dim, hidden))
        # TD-MPC2's episodic mode: P(the transition into z ended the episode), from the next latent.
        self.termination_head = mlp(preset.latent_dim + task_dim, hidden, 1) if termination else None
        init_weights(self)
        zero_last_linear(self.reward_head.net)

    def task_context(self, task: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
        """The task embedding [B, task_dim] for task ids [B], broadcast over `like`'s leading dims."""
        if self.task_emb is None:
            return None
        if task is None:
            raise ValueError("a multi-task world model needs the task ids")
        emb = self.task_emb(task)
        return emb.expand(*like.shape[:-1], emb.shape[-1])

    def encode(self, obs, task=None):
        ctx = self.task_context(task, obs)
        return self.encoder(obs if ctx is None else torch.cat([obs, ctx], -1))

    def next(self, z, a, task=None):
        return self.dynamics.next(z, a, self.task_context(task, z))

    def reward_logits(self, z, a, task=None):
        ctx = self.task_context(task, z)
        return self.reward_head(torch.cat([z, a] if ctx is None else [z, a, ctx], -1))

    def reward(self, z, a, task=None):
        """Decoded scalar reward [B, 1]."""
        return self.reward_head.decode(self.reward_logits(z, a, task))

    def termination_logits(self, z, task=None):
        ctx = self.task_context(task, z)
        return self.termination_head(z if ctx is None else torch.cat([z, ctx], -1))

    def continues(self, z, task=None) -> torch.Tensor | None:
        """P(the episode goes on from latent z) [B, 1]; None without a termination head."""
        if self.termination_head is None:
            return None
        return 1 - torch.sigmoid(self.termination_logits(z, task))

    def sequence_loss(self, batch: dict, rho: float, coefs: dict[str, float]) -> tuple[torch.Tensor, dict]:
        """TD-MPC2's world-model loss on real sequences: latent consistency (the dynamics' own
        loss against the stop-gradient encoding of the next observations), the reward head's loss
        and, with a termination head, binary cross-entropy of the predicted termination of each
        rolled-out next latent; each step weighted by rho^t, divided by the horizon. `batch` holds
        obs [B, D], next_obs [L, B, D], action [L, B, A], reward [L, B, 1], terminated [L, B, 1],
        optionally valid [L, B, 1] (a step past the end of the sequence's episode is left out of
        every part: each step's loss is the mean over the sequences still in their episode) and,
        multi-task, task [B]. `coefs` weighs "dynamics", "reward" and "termination".
        Returns (weighted loss, {"loss/<part>": unweighted part})."""
        task = batch.get("task")
        with torch.no_grad():
            targets = self.encode(batch["next_obs"], task)
        z = self.encode(batch["obs"], task)
        ctx = self.task_context(task, z)
        horizon = batch["action"].shape[0]
        weights = rho ** torch.arange(horizon, dtype=z.dtype, device=z.device)
        latents, dynamics = [z], []  # the rollout is sequential; the heads then see every step at once
        for t in range(horizon):
            z, step_loss = self.dynamics.loss(z, batch["action"][t], targets[t], ctx)
            latents.append(z)
            dynamics.append(step_loss)
        latents = torch.stack(latents)
        valid = batch.get("valid")
        valid = torch.ones_like(batch["reward"]) if valid is None else valid
        in_episode = valid.flatten(1) / valid.flatten(1).sum(1, keepdim=True).clamp(min=1)  # [L, B], rows sum to 1

        def per_step(loss):  # [L, B, ...] -> the rho-weighted sum over steps of each step's mean in the episode
            return (weights * (loss.flatten(2).mean(2) * in_episode).sum(1)).sum()
        parts = {"dynamics": per_step(torch.stack(dynamics)),
                 "reward": per_step(self.reward_head.loss(self.reward_logits(latents[:-1], batch["action"], task),
                                                          batch["reward"]))}
        if self.termination_head is not None:
            parts["termination"] = per_step(F.binary_cross_entropy_with_logits(
                self.termination_logits(latents[1:], task), batch["terminated"], reduction="none"))
        loss = sum(coefs[k] * v for k, v in parts.items()) / horizon
        return loss, {f"loss/{k}": v / horizon for k, v in parts.items()}

    def param_counts(self) -> dict[str, int]:
        counts = {"encoder": count_params(self.encoder), "dynamics": count_params(self.dynamics),
                  "reward": count_params(self.reward_head)}
        if self.termination_head is not None:
            counts["termination"] = count_params(self.termination_head)
        if self.task_emb is not None:
            counts["task_embedding"] = count_params(self.task_emb)
        return counts

