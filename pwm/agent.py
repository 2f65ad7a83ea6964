"""The PWM agent: a tanh-Gaussian actor trained with first-order gradients through the world
model, an ensemble of value critics trained on TD(lambda) targets of imagined rollouts, and
the world model trained on real sequences. One method per loss; each returns detached
scalars under names like `loss/actor`."""
import copy
import math

import numpy as np
import torch
from torch import nn

from pwm.layers import count_params, init_weights, mlp
from pwm.math import lambda_returns
from pwm.metrics import check_finite
from pwm.precision import autocast
from pwm.world_model import WorldModel


def decayed_lr(initial: float, final: float, epoch: int, decay_epochs: int) -> float:
    """Linear decay from `initial` at epoch 0 to `final` at `decay_epochs`, constant after
    (PWM's schedule over its 15,000 epochs). A fixed decay length, not the run's own budget, so
    that epoch N of a short run and of a long run are trained alike."""
    return initial + (final - initial) * (min(epoch, decay_epochs) / decay_epochs)


def set_decayed_lr(optimizer: torch.optim.Optimizer, initial: float, final: float, epoch: int, decay_epochs: int) -> float:
    """Set every parameter group to the decayed lr times its own `lr_scale` (default 1)."""
    lr = decayed_lr(initial, final, epoch, decay_epochs)
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
    return lr


def adam(params, agent_cfg, **hyper) -> torch.optim.Adam:
    """Adam in the implementation `agent.adam` names: torch's multi-tensor (`foreach`) kernels, or
    its `fused` kernel (one kernel per parameter group: fewer launches on a GPU)."""
    fused = agent_cfg.adam == "fused"
    return torch.optim.Adam(params, foreach=not fused, fused=fused, **hyper)


def world_model_optimizer(world_model: nn.Module, agent_cfg) -> torch.optim.Adam:
    """Adam over the world model, the encoder at `encoder_lr_scale` times the model lr (TD-MPC2's 0.3)."""
    a = agent_cfg
    encoder = list(world_model.encoder.parameters())
    ids = {id(p) for p in encoder}
    rest = [p for p in world_model.parameters() if id(p) not in ids]
    return adam([{"params": encoder, "lr_scale": a.encoder_lr_scale, "lr": a.model_lr * a.encoder_lr_scale},
                 {"params": rest, "lr_scale": 1.0}], a, lr=a.model_lr)


class Actor(nn.Module):
    """Gaussian over pre-tanh actions: state-dependent mean, learned state-independent log-std.
    The log-std is clamped into [log_std_min, log_std_max] after each optimiser step
    (`clamp_log_std_`, as PWM does), never inside `forward`: the gradient stays live at a bound.

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

    def forward(self, z: torch.Tensor, deterministic: bool = False, noise: torch.Tensor | None = None) -> torch.Tensor:
        """tanh(mean) when deterministic; else tanh(mean + std x noise), with standard-normal
        `noise` given (pwm.exploration) or drawn here."""
        mean = self.mean(z)
        if deterministic:
            return torch.tanh(mean) * self.action_mask
        if noise is not None:
            return torch.tanh(mean + self.log_std.exp() * noise) * self.action_mask
        return self.sample(z)[0]

    def sample(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and a one-sample estimate of its entropy [B, 1]: the Gaussian's
        entropy plus the log-Jacobian of the tanh squash, which falls without bound as the
        pre-tanh mean saturates (where the return's own gradient through tanh vanishes)."""
        mean = self.mean(z)
        action = torch.tanh(mean + self.log_std.exp() * torch.randn_like(mean))
        per_dim = self.log_std + 0.5 * math.log(2 * math.pi * math.e) + torch.log(1 - action.pow(2) + 1e-6)
        return action * self.action_mask, (per_dim * self.action_mask).sum(-1, keepdim=True)

    @torch.no_grad()
    def clamp_log_std_(self) -> None:
        self.log_std.clamp_(self.log_std_min, self.log_std_max)


class PolicyAverage(nn.Module):
    """Polyak-Ruppert average of the policy's weights (encoder + actor), the policy a checkpoint
    holds. Why: late in a run the live policy still moves between checkpoints while its return
    barely changes (cartpole-swingup, 1M MLP, seed 2, checkpoints 25 epochs apart after 100k agent
    steps: 788 to 878), so one checkpoint's score is partly the luck of where the last steps left
    it; the average of the recent weights evaluates at 867-880 over the same span. Where the
    policy moves far within the window it can blend into a worse one (Hopper-v5 seed 1 at 100k
    agent steps: 441 with a window of ~100 updates, 1,409 with ~10; seed 2 the other way round:
    config/README.md, which also has how the default rate was chosen).

    Each actor update moves the average towards the live weights by max(rate, 10 / (n + 10)) after
    n updates: the first update copies them, then it averages about the last 10% of the updates so
    far, and from n = 10 / rate - 10 on a fixed Polyak rate (the last ~1/rate updates). Written
    out rather than torch's AveragedModel, whose update reads its counter on the host: a device
    synchronisation per actor update on a GPU."""

    def __init__(self, encoder: nn.Module, actor: nn.Module, rate: float):
        super().__init__()
        self.encoder, self.actor = (copy.deepcopy(m).requires_grad_(False) for m in (encoder, actor))
        self.rate, self.updates = rate, 0

    @torch.no_grad()
    def step(self, encoder: nn.Module, actor: nn.Module) -> None:
        weight = max(self.rate, 10 / (self.updates + 10))
        for averaged, live in zip(self.parameters(), [*encoder.parameters(), *actor.parameters()], strict=True):
            averaged.lerp_(live, weight)
        self.updates += 1

    def get_extra_state(self) -> dict:
        return {"updates": self.updates}

    def set_extra_state(self, state: dict) -> None:
        self.updates = state["updates"]


class Critics(nn.Module):
    """An ensemble of state-value functions V(z)."""

    def __init__(self, latent_dim, dims, n):
        super().__init__()
        self.nets = nn.ModuleList(mlp(latent_dim, dims, 1) for _ in range(n))

    def forward(self, z):
        return torch.stack([net(z) for net in self.nets])  # [n, ..., 1]


def world_model_coefs(agent_cfg) -> dict[str, float]:
    a = agent_cfg
    return {"dynamics": a.consistency_coef, "reward": a.reward_coef, "termination": a.termination_coef}


def update_world_model(world_model: WorldModel, optimizer: torch.optim.Optimizer, batch: dict, agent_cfg) -> dict:
    """One gradient step of the world-model loss on a batch of real sequences (single- and
    multi-task alike). Returns 0-dim tensors (pwm.metrics)."""
    a = agent_cfg
    with autocast(a.precision, batch["obs"].device):
        loss, parts = world_model.sequence_loss(batch, a.rho, world_model_coefs(a))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(world_model.parameters(), a.model_grad_clip)
    optimizer.step()
    return {**parts, "loss/world_model": loss, "grad_norm/world_model": grad_norm}


class Agent:
    """Single-task: builds its own world model. Multi-task (one policy per task through a shared
    world model): pass `world_model`, the task's `action_mask` over the padded actions, and the
    task id to every method that touches the world model."""

    def __init__(self, cfg, obs_dim: int, action_dim: int, device: torch.device,
                 world_model: WorldModel | None = None, action_mask: torch.Tensor | None = None,
                 termination: bool = False):
        self.cfg, self.device = cfg, device
        a, m = cfg.agent, cfg.model
        self.world_model = (world_model or WorldModel(cfg, obs_dim, action_dim, termination=termination)).to(device)
        latent = self.world_model.latent_dim
        self.actor = Actor.from_config(m, latent, action_dim, action_mask)
        self.critics = Critics(latent, m.critic_dims, m.num_critics)
        init_weights(self.actor)
        init_weights(self.critics)
        self.actor.to(device)
        self.critics.to(device)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.policy_average = (PolicyAverage(self.world_model.encoder, self.actor, a.policy_average_rate)
                               if a.policy_average_rate else None)
        self.return_scale = torch.ones((), device=device)  # running 5-95% range of imagined returns
        self.critic_params, self.target_params = list(self.critics.parameters()), list(self.target_critics.parameters())
        self.model_opt = world_model_optimizer(self.world_model, a)
        self.actor_opt = adam(self.actor.parameters(), a, lr=a.actor_lr, betas=tuple(a.actor_betas))
        self.critic_opt = adam(self.critics.parameters(), a, lr=a.critic_lr, betas=tuple(a.critic_betas))

    # --- acting -------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False, task=None, noise: np.ndarray | None = None) -> np.ndarray:
        z = self.world_model.encode(torch.as_tensor(obs, device=self.device), task)
        noise = None if noise is None else torch.as_tensor(noise, device=self.device)
        return self.actor(z, deterministic, noise).cpu().numpy()

    # --- world model --------------------------------------------------------------------
    def update_world_model(self, batch: dict) -> dict:
        return update_world_model(self.world_model, self.model_opt, batch, self.cfg.agent)

    # --- actor and critics --------------------------------------------------------------
    def imagine(self, z: torch.Tensor, task=None, env_step=None):
        """Roll the actor through the world model for `horizon` steps, keeping the graph.
        Returns latents [H+1, B, D], rewards [H, B, 1], continuation probabilities [H, B, 1]
        (None without a termination head), the discounted return [B, 1] bootstrapped by the
        smallest critic, and the actions' entropy estimates [H, B, 1]; with a termination head,
        each reward and the terminal value count only as much as the imagined episode is
        predicted to still be going.

        With `env_step` (PWM's rollout scheme, `agent.rollout_start=env`), z encodes the real
        environments' current observations and every action is also taken in them:
        env_step(actions) -> (observations after the step, terminated [B], truncated [B]). Where
        a real episode ends, its return is closed (bootstrapped by the critics on a time limit,
        not on a termination) and the latent restarts from the encoding of the new episode's
        first observation; continuations are then the real ones."""
        gamma = self.cfg.agent.gamma
        latents, rewards, continues, entropies, ret, discount = [z], [], [], [], 0.0, 1.0
        for _ in range(self.cfg.agent.horizon):
            action, entropy = self.actor.sample(z.detach())
            entropies.append(entropy)
            r = self.world_model.reward(z, action, task)
            z = self.world_model.next(z, action, task)
            ret = ret + discount * r
            if env_step is not None:
                z, ret, discount, c = self._follow_real_episodes(env_step, action, z, ret, discount, task)
            else:
                c = self.world_model.continues(z, task)
                discount = discount * gamma if c is None else discount * gamma * c
            latents.append(z)
            rewards.append(r)
            continues.append(c)
        terminal = self.critics(z).min(0).values
        continues = None if continues[0] is None else torch.stack(continues)
        return torch.stack(latents), torch.stack(rewards), continues, ret + discount * terminal, torch.stack(entropies)

    def _follow_real_episodes(self, env_step, action, z, ret, discount, task):
        """One real step beside the imagined one (see `imagine`)."""
        obs, terminated, truncated = env_step(action.detach().cpu().numpy())
        as_column = lambda x: torch.as_tensor(x, dtype=z.dtype, device=z.device).unsqueeze(-1)  # noqa: E731
        ended, timed_out = as_column(terminated | truncated), as_column(truncated & ~terminated)
        gamma = self.cfg.agent.gamma
        ret = ret + timed_out * discount * gamma * self.critics(z).min(0).values
        with torch.no_grad():
            restart = self.world_model.encode(torch.as_tensor(obs, device=z.device), task)
        z = torch.where(ended.bool(), restart, z)
        return z, ret, torch.where(ended.bool(), torch.ones_like(ended), discount * gamma), 1 - ended

    def update_actor_critic(self, obs: torch.Tensor, task=None, env_step=None) -> dict:
        """One actor update through the world model from the latents of `obs` (buffer states, or
        the environments' current observations with `env_step`), then the critics."""
        a = self.cfg.agent
        with autocast(a.precision, self.device):
            with torch.no_grad():
                z0 = self.world_model.encode(obs, task)
            latents, rewards, continues, returns, entropies = (x if x is None else x.float() for x in
                                                               self.imagine(z0, task, env_step))
        with torch.no_grad():  # TD-MPC2's return scale: the actor's step does not depend on the task's reward units
            spread = torch.quantile(returns, 0.95) - torch.quantile(returns, 0.05)
            self.return_scale.lerp_(spread, a.return_scale_tau)
        actor_loss = -returns.mean() / self.return_scale.clamp(min=1.0) - a.entropy_coef * entropies.mean()
        params = list(self.actor.parameters())
        grads = torch.autograd.grad(actor_loss, params)  # the world model and critics stay untouched
        for p, g in zip(params, grads):
            p.grad = g
        actor_grad_norm = nn.utils.clip_grad_norm_(params, a.actor_grad_clip)
        self.actor_opt.step()
        self.actor.clamp_log_std_()
        if self.policy_average is not None:
            self.policy_average.step(self.world_model.encoder, self.actor)
        critic_metrics = self.update_critics(latents.detach(), rewards.detach(),
                                             None if continues is None else continues.detach(),
                                             weigh_by_reach=env_step is None)
        extra = {} if continues is None else {"imagined/continue_mean": continues.mean()}
        return {"loss/actor": actor_loss, "grad_norm/actor": actor_grad_norm,
                "imagined/reward_mean": rewards.mean(), "imagined/reward_std": rewards.std(),
                "imagined/return_mean": returns.mean(), "actor/log_std": self.actor.log_std.mean(),
                "actor/entropy": entropies.mean(), "actor/return_scale": self.return_scale.clone(),
                **extra, **critic_metrics}

    def update_critics(self, latents: torch.Tensor, rewards: torch.Tensor, continues: torch.Tensor | None = None,
                       weigh_by_reach: bool = True) -> dict:
        """PWM's schedule: `critic_iterations` passes over the imagined states, each in
        `critic_minibatches` minibatches, towards fixed TD(lambda) targets. With predicted
        continuations, a state counts as much as it is predicted to be reached before a
        termination (with real ones, `weigh_by_reach=False`, every state was reached)."""
        a = self.cfg.agent
        with torch.no_grad(), autocast(a.precision, self.device):
            values = self.target_critics(latents).min(0).values.float()
        with torch.no_grad():
            targets = lambda_returns(rewards, values, a.gamma, a.lam, continues)
        z, y = latents[:-1].flatten(0, 1), targets.flatten(0, 1)
        weighted = continues is not None and weigh_by_reach
        if weighted:  # reach[t] = P(still going at step t) = prod_{k<t} continues[k]
            reach = torch.cat([torch.ones_like(continues[:1]), continues[:-1]]).cumprod(0)
            w = reach.flatten(0, 1) / reach.mean()
        loss_sum = norm_sum = 0.0
        steps = 0
        for _ in range(a.critic_iterations):
            for idx in torch.randperm(z.shape[0], device=z.device).chunk(a.critic_minibatches):
                with autocast(a.precision, self.device):
                    values = self.critics(z[idx])
                squared = (values.float() - y[idx]) ** 2
                if weighted:
                    squared = squared * w[idx]
                loss = squared.mean(dim=(1, 2)).sum()
                self.critic_opt.zero_grad(set_to_none=True)
                loss.backward()
                norm_sum = norm_sum + nn.utils.clip_grad_norm_(self.critic_params, a.critic_grad_clip)
                self.critic_opt.step()
                loss_sum = loss_sum + loss.detach()
                steps += 1
                with torch.no_grad():
                    torch._foreach_lerp_(self.target_params, self.critic_params, a.critic_tau)
        return {"loss/critic": loss_sum / steps, "grad_norm/critic": norm_sum / steps, "value/target_mean": targets.mean()}

    # --- bookkeeping --------------------------------------------------------------------
    def set_learning_rates(self, epoch: int) -> None:
        """Linear decay from each initial lr to `final_lr` over `lr_decay_epochs`, then constant."""
        a = self.cfg.agent
        for opt, lr in ((self.model_opt, a.model_lr), (self.actor_opt, a.actor_lr), (self.critic_opt, a.critic_lr)):
            set_decayed_lr(opt, lr, a.final_lr, epoch, a.lr_decay_epochs)

    def learning_rates(self) -> dict:
        return {f"lr/{n}": opt.param_groups[-1]["lr"] for n, opt in
                (("model", self.model_opt), ("actor", self.actor_opt), ("critic", self.critic_opt))}

    def param_counts(self) -> dict[str, int]:
        return {**self.world_model.param_counts(), "actor": count_params(self.actor),
                "critics": count_params(self.critics)}

    def assert_finite_parameters(self) -> None:
        for name, module in (("world_model", self.world_model), ("actor", self.actor), ("critics", self.critics)):
            for p in module.parameters():
                check_finite(f"parameters/{name}", p)

    def modules(self) -> dict[str, nn.Module]:
        average = {} if self.policy_average is None else {"policy_average": self.policy_average}
        return {"world_model": self.world_model, "actor": self.actor, "critics": self.critics,
                "target_critics": self.target_critics, **average}

    def policy_weights(self) -> dict:
        """What a checkpoint's policy is: the averaged encoder and actor (`agent.policy_average_rate`),
        or the live ones without averaging."""
        average = self.policy_average
        encoder, actor = (average.encoder, average.actor) if average is not None else (self.world_model.encoder, self.actor)
        return {"policy_encoder": encoder.state_dict(), "actor": actor.state_dict()}

    def state_dict(self) -> dict:
        return {**{k: m.state_dict() for k, m in self.modules().items()},
                "model_opt": self.model_opt.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(), "return_scale": self.return_scale.clone()}

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.modules().items():
            if k == "policy_average" and k not in state:  # a state from before the average existed:
                continue  # it starts from the live weights at the next actor update
            m.load_state_dict(state[k])
        self.model_opt.load_state_dict(state["model_opt"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.return_scale.copy_(state["return_scale"])
