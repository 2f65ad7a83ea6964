"""Online PWM training: collect real data, update the world model, then the actor and critics
through it. Checkpoints hold the complete state (models, optimisers, schedules, buffer, every
RNG, the simulators), so a resumed run is bit-identical to an uninterrupted one on CPU."""
import os
import time
from pathlib import Path

import numpy as np
import torch

from pwm.agent import Agent
from pwm.buffer import ReplayBuffer
from pwm.config import PreflightConfig, TrainConfig, to_yaml, uses_termination, variant_name
from pwm.envs import default_action_repeat, make_vector_env
from pwm.exploration import ColoredNoise
from pwm.loop import EpochLoop
from pwm.metrics import EpochMetrics


def training_seeds(cfg: TrainConfig) -> list[int]:
    """Environment seeds of a run; evaluation seeds (pwm-eval) start far above these."""
    return [cfg.seed * 1000 + i for i in range(cfg.env.num_envs)]


class Trainer(EpochLoop):
    def __init__(self, cfg: TrainConfig, log=print):
        super().__init__(cfg, log)
        self.rng = np.random.default_rng(cfg.seed)
        self.env = make_vector_env(cfg.task, training_seeds(cfg), cfg.env.action_repeat)
        self.obs_dim = self.env.single_observation_space.shape[0]
        self.action_dim = self.env.single_action_space.shape[0]
        self.agent = Agent(cfg, self.obs_dim, self.action_dim, self.device, termination=uses_termination(cfg))
        a = cfg.agent
        self.buffer = ReplayBuffer(cfg.env.num_envs, a.buffer_capacity, self.obs_dim, self.action_dim)
        self.buffer_dir = Path(cfg.run_dir) / "buffer"  # the replay buffer's chunk files (pwm.buffer)
        self.obs, _ = self.env.reset(seed=training_seeds(cfg))
        n = cfg.env.num_envs
        self.episode_return, self.episode_length = np.zeros(n), np.zeros(n, np.int64)
        self.finished: tuple[list[float], list[int]] = ([], [])  # returns and lengths of ended episodes
        self.agent_steps_per_epoch = n * cfg.env.steps_per_epoch
        self.env_steps_per_epoch = self.agent_steps_per_epoch * (cfg.env.action_repeat or default_action_repeat(cfg.task))
        self.warmed_up = False
        self.random_epochs = -(-a.random_steps // self.env_steps_per_epoch)
        self.noise = (ColoredNoise(a.noise_beta, n, self.action_dim, self.env.envs[0].max_episode_steps, cfg.seed)
                      if a.noise_beta > 0 else None)  # None: white noise, drawn by the actor and the rng
        self.stagger_cuts = staggered_cuts(n, self.env.envs[0].max_episode_steps) if cfg.env.stagger else np.zeros(n, np.int64)

    # --- one epoch ----------------------------------------------------------------------
    def step_envs(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step of every environment: the transition into the buffer, episode bookkeeping
        (finished episodes into `self.finished`), staggered first-episode cuts. Returns the
        observations to act on next and the terminated and truncated (or cut) flags."""
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        ended = terminated | truncated
        true_next = next_obs.copy()
        for i in np.flatnonzero(ended):
            true_next[i] = info["final_obs"][i]
        self.episode_return += reward
        self.episode_length += 1
        step = self.buffer.count + 1  # agent steps every environment has taken
        cut = ~ended & (self.stagger_cuts == step) & (self.episode_length == step)
        self.buffer.add(self.obs, action, reward, true_next, terminated, truncated | cut)
        self.finished[0].extend(self.episode_return[ended].tolist())
        self.finished[1].extend(self.episode_length[ended].tolist())
        if cut.any():
            next_obs, _ = self.env.reset(options={"reset_mask": cut})
        self.episode_return[ended | cut], self.episode_length[ended | cut] = 0.0, 0
        self.obs = next_obs
        return next_obs, terminated, truncated | cut

    def collect(self) -> tuple[list[float], list[int]]:
        """Step every environment `steps_per_epoch` times (PWM's rollout scheme steps them
        during the actor updates instead); returns the returns and lengths of the episodes that
        ended (by termination or time limit; staggered cuts are not episodes)."""
        learning_in_env = self.cfg.agent.rollout_start == "env" and self.epoch >= self.random_epochs
        for _ in range(0 if learning_in_env else self.cfg.env.steps_per_epoch):
            noise = self.noise() if self.noise else None
            if self.epoch < self.random_epochs:
                action = (np.tanh(noise) if noise is not None else
                          self.rng.uniform(-1, 1, (self.cfg.env.num_envs, self.action_dim)).astype(np.float32))
            else:
                action = self.agent.act(self.obs, noise=noise)
            self.step_envs(action)
        return self.take_finished()

    def take_finished(self) -> tuple[list[float], list[int]]:
        finished, self.finished = self.finished, ([], [])
        return finished

    def update(self) -> dict:
        a, metrics = self.cfg.agent, EpochMetrics()
        n_model = a.model_updates_per_epoch + (0 if self.warmed_up else a.warmup_updates)
        self.warmed_up = True
        for _ in range(n_model):
            batch = self.buffer.sample_sequences(a.batch_size, a.model_horizon, self.rng, self.device)
            metrics.add(self.agent.update_world_model(batch))
        for _ in range(a.actor_updates_per_epoch):
            if a.rollout_start == "env":
                obs = torch.as_tensor(self.obs, device=self.device)
                metrics.add(self.agent.update_actor_critic(obs, env_step=self.step_envs))
            else:
                metrics.add(self.agent.update_actor_critic(self.buffer.sample_obs(a.actor_batch_size, self.rng, self.device)))
        return metrics.read()  # the epoch's one host synchronisation; raises DivergenceError

    def train_epoch(self, started: float) -> dict:
        returns, lengths = self.collect()
        self.agent.set_learning_rates(self.epoch)
        lrs = self.agent.learning_rates()
        learning = self.epoch >= self.random_epochs
        metrics = self.update() if learning else {}
        if learning and self.cfg.agent.rollout_start == "env":
            returns, lengths = self.take_finished()
        self.epoch += 1
        return {"epoch": self.epoch, "env_steps": self.epoch * self.env_steps_per_epoch,
                "agent_steps": self.epoch * self.agent_steps_per_epoch,
                "wall_s": self.wall_before + time.monotonic() - started,
                "episode_return": float(np.mean(returns)) if returns else float("nan"),
                "episode_length": float(np.mean(lengths)) if lengths else float("nan"),
                "episodes_finished": len(returns), "learning": learning, **lrs, **metrics}

    # --- checkpoints and status ---------------------------------------------------------
    def weights(self) -> dict:
        return {"config": to_yaml(self.cfg), "epoch": self.epoch, "env_steps": self.epoch * self.env_steps_per_epoch,
                "obs_dim": self.obs_dim, "action_dim": self.action_dim,
                "world_model": self.agent.world_model.state_dict(), **self.agent.policy_weights()}

    def extra_state(self) -> dict:
        return {"agent": self.agent.state_dict(), "buffer": self.buffer.write_chunks(self.buffer_dir),
                "rng": self.rng.bit_generator.state, "envs": [e.get_state() for e in self.env.envs],
                "obs": self.obs, "episode_return": self.episode_return, "episode_length": self.episode_length,
                "warmed_up": self.warmed_up, **({"noise": self.noise.state_dict()} if self.noise else {})}

    def restore_extra(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.buffer.load_chunks(self.buffer_dir, state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        for env, s in zip(self.env.envs, state["envs"]):
            env.set_state(s)
        self.obs = state["obs"]
        self.episode_return, self.episode_length = state["episode_return"], state["episode_length"]
        self.warmed_up = state["warmed_up"]
        if self.noise:
            self.noise.load_state_dict(state["noise"])

    def identity(self) -> dict:
        c = self.cfg
        return dict(task=c.task, size=c.size, variant=variant_name(c.dynamics), seed=c.seed)

    def param_counts(self) -> dict:
        return self.agent.param_counts()

    def assert_finite(self) -> None:
        self.agent.assert_finite_parameters()


def staggered_cuts(num_envs: int, episode_steps: int) -> np.ndarray:
    """Agent step at which each environment's first episode is cut short (0: never), spread
    evenly over one episode: with all environments reset together, dm_control's fixed-length
    episodes would all end in the same epoch, and training returns would be logged once per
    episode length instead of every few epochs."""
    return np.arange(num_envs, dtype=np.int64) * episode_steps // num_envs


def preflight(cfg: PreflightConfig) -> dict:
    """Build everything on the real task and run one world-model and one actor-critic update,
    then time `timed_epochs` learning epochs of the real schedule on this device: the seconds per
    epoch from which a sweep's cost is projected (pwm.results.projection)."""
    trainer = Trainer(cfg, log=lambda *_: None)
    started = time.monotonic()
    for _ in range(cfg.agent.model_horizon + 1):
        trainer.collect()
    a, metrics = cfg.agent, EpochMetrics()
    metrics.add(trainer.agent.update_world_model(
        trainer.buffer.sample_sequences(a.batch_size, a.model_horizon, trainer.rng, trainer.device)))
    metrics.add(trainer.agent.update_actor_critic(trainer.buffer.sample_obs(a.actor_batch_size, trainer.rng, trainer.device)))
    row = metrics.read()
    trainer.agent.assert_finite_parameters()
    smoke_s = time.monotonic() - started
    trainer.epoch, trainer.warmed_up = trainer.random_epochs, True  # a learning epoch, warm-up done
    timed = time.monotonic()
    for _ in range(cfg.timed_epochs):
        trainer.collect()
        trainer.update()
    seconds_per_epoch = (time.monotonic() - timed) / cfg.timed_epochs if cfg.timed_epochs else None
    return {"task": cfg.task, "size": cfg.size, "variant": variant_name(cfg.dynamics),
            "param_counts": trainer.agent.param_counts(), "seconds": smoke_s, "metrics": row,
            "device": str(trainer.device), "seconds_per_epoch": seconds_per_epoch,
            "projected_hours": seconds_per_epoch * cfg.epochs / 3600 if seconds_per_epoch else None,
            "epochs": cfg.epochs, "pid": os.getpid()}
