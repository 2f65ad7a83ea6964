"""The PWM agent: a tanh-Gaussian actor trained with first-order gradients through the world
model, an ensemble of value critics trained on TD(lambda) targets of imagined rollouts, and
the world model trained on real sequences. One method per loss; each returns detached
scalars under names like `loss/actor`."""
import copy

import numpy as np
import torch
from torch import nn

from pwm.layers import count_params, init_weights, mlp
from pwm.math import lambda_returns
from pwm.world_model import WorldModel


def decayed_lr(initial: float, final: float, epoch: int, epochs: int) -> float:
    """Linear decay from `initial` at epoch 0 to `final` at `epochs` (PWM's schedule)."""
    return initial + (final - initial) * (min(epoch, epochs) / epochs)


class DivergenceError(RuntimeError):
    def __init__(self, what: str):
        super().__init__(f"non-finite {what}")
        self.what = what


class Actor(nn.Module):
    """Gaussian over pre-tanh actions: state-dependent mean, learned state-independent log-std.

    `action_mask` (1 for real action dimensions, 0 for padding) serves multi-task models padded
    to the widest action space: padded dimensions are always 0 and get no gradient.
    """

    def __init__(self, latent_dim, dims, action_dim, log_std_init, log_std_min, log_std_max,
                 action_mask: torch.Tensor | None = None):
        super().__init__()
        self.mean = mlp(latent_dim, dims, action_dim)
        self.log_std = nn.Parameter(torch.full((action_dim,), log_std_init))
        self.log_std_min, self.log_std_max = log_std_min, log_std_max
        self.register_buffer("action_mask", torch.ones(action_dim) if action_mask is None else action_mask.float())

    @classmethod
    def from_config(cls, model_cfg, latent_dim: int, action_dim: int, action_mask=None) -> "Actor":
        m = model_cfg
        return cls(latent_dim, m.actor_dims, action_dim, m.log_std_init, m.log_std_min, m.log_std_max, action_mask)

    def forward(self, z: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        mean = self.mean(z)
        if deterministic:
            return torch.tanh(mean) * self.action_mask
        std = self.log_std.clamp(self.log_std_min, self.log_std_max).exp()
        return torch.tanh(mean + std * torch.randn_like(mean)) * self.action_mask


class Critics(nn.Module):
    """An ensemble of state-value functions V(z)."""

    def __init__(self, latent_dim, dims, n):
        super().__init__()
        self.nets = nn.ModuleList(mlp(latent_dim, dims, 1) for _ in range(n))

    def forward(self, z):
        return torch.stack([net(z) for net in self.nets])  # [n, ..., 1]


def check_finite(name: str, value: torch.Tensor) -> None:
    if not torch.isfinite(value).all():
        raise DivergenceError(name)


class Agent:
    """Single-task: builds its own world model. Multi-task (one policy per task through a shared
    world model): pass `world_model`, the task's `action_mask` over the padded actions, and the
    task id to every method that touches the world model."""

    def __init__(self, cfg, obs_dim: int, action_dim: int, device: torch.device,
                 world_model: WorldModel | None = None, action_mask: torch.Tensor | None = None):
        self.cfg, self.device = cfg, device
        a, m = cfg.agent, cfg.model
        self.world_model = (world_model or WorldModel(cfg, obs_dim, action_dim)).to(device)
        latent = self.world_model.latent_dim
        self.actor = Actor.from_config(m, latent, action_dim, action_mask)
        self.critics = Critics(latent, m.critic_dims, m.num_critics)
        init_weights(self.actor)
        init_weights(self.critics)
        self.actor.to(device)
        self.critics.to(device)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.model_opt = torch.optim.Adam(self.world_model.parameters(), lr=a.model_lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=a.actor_lr, betas=tuple(a.actor_betas))
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), lr=a.critic_lr, betas=tuple(a.critic_betas))

    # --- acting -------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False, task=None) -> np.ndarray:
        z = self.world_model.encode(torch.as_tensor(obs, device=self.device), task)
        return self.actor(z, deterministic).cpu().numpy()

    # --- world model --------------------------------------------------------------------
    def update_world_model(self, batch: dict) -> dict:
        a = self.cfg.agent
        loss, dyn_loss, reward_loss = self.world_model.sequence_loss(batch, a.rho, a.consistency_coef, a.reward_coef)
        check_finite("loss/dynamics", dyn_loss)
        check_finite("loss/reward", reward_loss)
        self.model_opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.world_model.parameters(), a.model_grad_clip)
        self.model_opt.step()
        return {"loss/dynamics": dyn_loss.item(), "loss/reward": reward_loss.item(),
                "loss/world_model": loss.item(), "grad_norm/world_model": grad_norm.item()}

    # --- actor and critics --------------------------------------------------------------
    def imagine(self, z: torch.Tensor, task=None):
        """Roll the actor through the world model for `horizon` steps, keeping the graph."""
        gamma = self.cfg.agent.gamma
        latents, rewards, ret, discount = [z], [], 0.0, 1.0
        for _ in range(self.cfg.agent.horizon):
            action = self.actor(z.detach())
            r = self.world_model.reward(z, action, task)
            z = self.world_model.next(z, action, task)
            ret = ret + discount * r
            discount *= gamma
            latents.append(z)
            rewards.append(r)
        terminal = self.critics(z).min(0).values
        return torch.stack(latents), torch.stack(rewards), ret + discount * terminal

    def update_actor_critic(self, obs: torch.Tensor, task=None) -> dict:
        a = self.cfg.agent
        with torch.no_grad():
            z0 = self.world_model.encode(obs, task)
        latents, rewards, returns = self.imagine(z0, task)
        actor_loss = -returns.mean() / a.horizon
        check_finite("loss/actor", actor_loss)
        params = list(self.actor.parameters())
        grads = torch.autograd.grad(actor_loss, params)  # the world model and critics stay untouched
        for p, g in zip(params, grads):
            p.grad = g
        actor_grad_norm = nn.utils.clip_grad_norm_(params, a.actor_grad_clip)
        self.actor_opt.step()
        critic_metrics = self.update_critics(latents.detach(), rewards.detach())
        return {"loss/actor": actor_loss.item(), "grad_norm/actor": actor_grad_norm.item(),
                "imagined/reward_mean": rewards.mean().item(), "imagined/reward_std": rewards.std().item(),
                "imagined/return_mean": returns.mean().item(),
                "actor/log_std": self.actor.log_std.detach().mean().item(), **critic_metrics}

    def update_critics(self, latents: torch.Tensor, rewards: torch.Tensor) -> dict:
        a = self.cfg.agent
        with torch.no_grad():
            values = self.target_critics(latents).min(0).values
            targets = lambda_returns(rewards, values, a.gamma, a.lam)
        z, y = latents[:-1].flatten(0, 1), targets.flatten(0, 1)
        losses, norms = [], []
        for idx in torch.randperm(z.shape[0], device=z.device).chunk(a.critic_minibatches):
            loss = ((self.critics(z[idx]) - y[idx]) ** 2).mean(dim=(1, 2)).sum()
            check_finite("loss/critic", loss)
            self.critic_opt.zero_grad(set_to_none=True)
            loss.backward()
            norms.append(nn.utils.clip_grad_norm_(self.critics.parameters(), a.critic_grad_clip).item())
            self.critic_opt.step()
            losses.append(loss.item())
            with torch.no_grad():
                for p, tp in zip(self.critics.parameters(), self.target_critics.parameters()):
                    tp.lerp_(p, a.critic_tau)
        return {"loss/critic": float(np.mean(losses)), "grad_norm/critic": float(np.mean(norms)),
                "value/target_mean": targets.mean().item()}

    # --- bookkeeping --------------------------------------------------------------------
    def set_learning_rates(self, epoch: int) -> None:
        """Linear decay from each initial lr to `final_lr` over the run's epochs."""
        a = self.cfg.agent
        for opt, lr in ((self.model_opt, a.model_lr), (self.actor_opt, a.actor_lr), (self.critic_opt, a.critic_lr)):
            for group in opt.param_groups:
                group["lr"] = decayed_lr(lr, a.final_lr, epoch, self.cfg.epochs)

    def learning_rates(self) -> dict:
        return {f"lr/{n}": opt.param_groups[0]["lr"] for n, opt in
                (("model", self.model_opt), ("actor", self.actor_opt), ("critic", self.critic_opt))}

    def param_counts(self) -> dict[str, int]:
        return {**self.world_model.param_counts(), "actor": count_params(self.actor),
                "critics": count_params(self.critics)}

    def assert_finite_parameters(self) -> None:
        for name, module in (("world_model", self.world_model), ("actor", self.actor), ("critics", self.critics)):
            for p in module.parameters():
                check_finite(f"parameters/{name}", p)

    def modules(self) -> dict[str, nn.Module]:
        return {"world_model": self.world_model, "actor": self.actor, "critics": self.critics,
                "target_critics": self.target_critics}

    def state_dict(self) -> dict:
        return {**{k: m.state_dict() for k, m in self.modules().items()},
                "model_opt": self.model_opt.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.modules().items():
            m.load_state_dict(state[k])
        self.model_opt.load_state_dict(state["model_opt"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
