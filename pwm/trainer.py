"""Online PWM training: collect real data, update the world model, then the actor and critics
through it. Checkpoints hold the complete state (models, optimisers, schedules, buffer, every
RNG, the simulators), so a resumed run is bit-identical to an uninterrupted one on CPU."""
import dataclasses
import json
import os
import shutil
import signal
import sys
import time

import numpy as np
import torch

from pwm import checkpoint
from pwm.agent import Agent, DivergenceError
from pwm.buffer import ReplayBuffer
from pwm.config import ConfigError, TrainConfig, from_yaml_text, to_yaml, variant_name
from pwm.envs import default_action_repeat, make_vector_env
from pwm.run_dir import RunDir, write_json_atomic, write_text_atomic

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DIVERGED = 3
EXIT_LOCKED = 73  # EX_CANTCREAT: another trainer holds the run directory
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: a checkpoint was written on a signal; rerun to resume
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
STATES_KEPT = 2  # full resume states kept; the older one is the fallback for a corrupt newest


def training_seeds(cfg: TrainConfig) -> list[int]:
    """Environment seeds of a run; evaluation seeds (pwm-eval) start far above these."""
    return [cfg.seed * 1000 + i for i in range(cfg.env.num_envs)]


class Trainer:
    def __init__(self, cfg: TrainConfig, log=print):
        self.cfg, self.log = cfg, log
        self.device = torch.device(cfg.device)
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.env = make_vector_env(cfg.task, training_seeds(cfg), cfg.env.action_repeat)
        self.obs_dim = self.env.single_observation_space.shape[0]
        self.action_dim = self.env.single_action_space.shape[0]
        self.agent = Agent(cfg, self.obs_dim, self.action_dim, self.device)
        a = cfg.agent
        self.buffer = ReplayBuffer(cfg.env.num_envs, a.buffer_capacity, self.obs_dim, self.action_dim)
        self.obs, _ = self.env.reset(seed=training_seeds(cfg))
        n = cfg.env.num_envs
        self.episode_return, self.episode_length = np.zeros(n), np.zeros(n, np.int64)
        self.env_steps_per_epoch = n * cfg.env.steps_per_epoch * (cfg.env.action_repeat or default_action_repeat(cfg.task))
        self.epoch, self.rows, self.warmed_up, self.wall_before = 0, [], False, 0.0
        self.random_epochs = -(-a.random_steps // self.env_steps_per_epoch)

    # --- one epoch ----------------------------------------------------------------------
    def collect(self) -> list[float]:
        """Step every environment `steps_per_epoch` times; returns returns of finished episodes."""
        finished = []
        for _ in range(self.cfg.env.steps_per_epoch):
            if self.epoch < self.random_epochs:
                action = self.rng.uniform(-1, 1, (self.cfg.env.num_envs, self.action_dim)).astype(np.float32)
            else:
                action = self.agent.act(self.obs)
            next_obs, reward, terminated, truncated, info = self.env.step(action)
            done = terminated | truncated
            true_next = next_obs.copy()
            for i in np.flatnonzero(done):
                true_next[i] = info["final_obs"][i]
            self.buffer.add(self.obs, action, reward, true_next, done)
            self.episode_return += reward
            self.episode_length += 1
            finished += self.episode_return[done].tolist()
            self.episode_return[done], self.episode_length[done] = 0.0, 0
            self.obs = next_obs
        return finished

    def update(self) -> dict:
        a, metrics = self.cfg.agent, []
        n_model = a.model_updates_per_epoch + (0 if self.warmed_up else a.warmup_updates)
        self.warmed_up = True
        for _ in range(n_model):
            batch = self.buffer.sample_sequences(a.batch_size, a.model_horizon, self.rng, self.device)
            metrics.append(self.agent.update_world_model(batch))
        for _ in range(a.actor_updates_per_epoch):
            metrics.append(self.agent.update_actor_critic(self.buffer.sample_obs(a.actor_batch_size, self.rng, self.device)))
        keys = {k for m in metrics for k in m}
        return {k: float(np.mean([m[k] for m in metrics if k in m])) for k in sorted(keys)}

    def train_epoch(self, started: float) -> dict:
        finished = self.collect()
        self.agent.set_learning_rates(self.epoch)
        lrs = self.agent.learning_rates()
        learning = self.epoch >= self.random_epochs
        metrics = self.update() if learning else {}
        self.epoch += 1
        return {"epoch": self.epoch, "env_steps": self.epoch * self.env_steps_per_epoch,
                "wall_s": self.wall_before + time.monotonic() - started,
                "episode_return": float(np.mean(finished)) if finished else float("nan"),
                "episodes_finished": len(finished), "learning": learning, **lrs, **metrics}

    # --- checkpoints --------------------------------------------------------------------
    def weights(self) -> dict:
        return {"config": to_yaml(self.cfg), "epoch": self.epoch, "env_steps": self.epoch * self.env_steps_per_epoch,
                "obs_dim": self.obs_dim, "action_dim": self.action_dim,
                "world_model": self.agent.world_model.state_dict(), "actor": self.agent.actor.state_dict()}

    def full_state(self, wall_s: float) -> dict:
        return {"config": to_yaml(self.cfg), "epoch": self.epoch, "rows": self.rows, "wall_s": wall_s,
                "agent": self.agent.state_dict(), "buffer": self.buffer.state_dict(),
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                "envs": [e.get_state() for e in self.env.envs], "obs": self.obs,
                "episode_return": self.episode_return, "episode_length": self.episode_length,
                "warmed_up": self.warmed_up}

    def restore(self, state: dict) -> None:
        self.epoch, self.rows, self.wall_before = state["epoch"], state["rows"], state["wall_s"]
        self.agent.load_state_dict(state["agent"])
        self.buffer.load_state_dict(state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        for env, s in zip(self.env.envs, state["envs"]):
            env.set_state(s)
        self.obs = state["obs"]
        self.episode_return, self.episode_length = state["episode_return"], state["episode_length"]
        self.warmed_up = state["warmed_up"]

    def save(self, run: RunDir, wall_s: float) -> None:
        self.agent.assert_finite_parameters()  # never checkpoint a diverged model
        checkpoint.save_atomic(self.weights(), checkpoint.epoch_file(run.checkpoints, self.epoch))
        checkpoint.save_atomic(self.full_state(wall_s), checkpoint.epoch_file(run.state, self.epoch))
        checkpoint.prune(run.state, STATES_KEPT)
        run.write_metrics(self.rows)

    # --- the whole run ------------------------------------------------------------------
    def run(self, run: RunDir) -> int:
        cfg = self.cfg
        _write_or_check_config(run, cfg)
        previous = json.loads(run.status.read_text()) if run.status.exists() else {}
        if previous.get("state") == "diverged":  # resuming would diverge again, bit for bit
            self.log(f"{run.root} diverged before ({previous.get('reason')}); delete it to start over")
            return EXIT_DIVERGED
        write_json_atomic(run.param_counts, self.agent.param_counts())
        state = checkpoint.load_newest_readable(run.state, self.device, self.log)
        if state is not None:
            self.restore(state)
            self.log(f"resumed from epoch {self.epoch} of {cfg.epochs}")
        status = dict(epoch=self.epoch, epochs=cfg.epochs, task=cfg.task, size=cfg.size,
                      variant=variant_name(cfg.dynamics), seed=cfg.seed, resumed_from=self.epoch)
        stop = _StopFlag()
        started = time.monotonic()
        run.write_status("running", reason=None, **status)
        progress = _progress(cfg, self.epoch, self.log)
        try:
            while self.epoch < cfg.epochs:
                row = self.train_epoch(started)
                self.rows.append(row)
                status.update(epoch=self.epoch, env_steps=row["env_steps"])
                progress(row)
                if self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs:
                    self.save(run, row["wall_s"])
                    run.write_status("running", reason=None, **status)
                elif self.epoch % cfg.log_every == 0:
                    run.write_metrics(self.rows)
                if stop.signal is not None:
                    self.save(run, row["wall_s"])
                    run.write_status("interrupted", reason=f"received {stop.signal.name}; checkpoint written", **status)
                    self.log(f"{stop.signal.name} received: checkpoint at epoch {self.epoch} written, exiting {EXIT_INTERRUPTED}")
                    return EXIT_INTERRUPTED
        except DivergenceError as err:
            run.write_metrics(self.rows)
            run.write_status("diverged", reason=str(err), loss=err.what, diverged_at_epoch=self.epoch + 1, **status)
            self.log(f"diverged at epoch {self.epoch + 1}: {err}")
            return EXIT_DIVERGED
        finally:
            stop.restore()
        _write_final(run, self.epoch, run.write_status("completed", reason=None, **status))
        return EXIT_COMPLETED


def _write_or_check_config(run: RunDir, cfg: TrainConfig) -> None:
    text = to_yaml(cfg)
    if run.config.exists():
        saved = from_yaml_text(run.config.read_text())
        if dataclasses.replace(saved, run_dir=cfg.run_dir) != cfg:  # a run folder may be moved
            raise ConfigError(f"{run.root} holds a run with another configuration ({run.config}); "
                              "use a new run directory or the same overrides")
        return
    write_text_atomic(run.config, text)


def _write_final(run: RunDir, epoch: int, status: dict) -> None:
    """The finished artefacts; status.json last, so its presence means all are there."""
    run.final.mkdir(exist_ok=True)
    shutil.copyfile(checkpoint.epoch_file(run.checkpoints, epoch), run.final / "checkpoint.pt")
    shutil.copyfile(run.metrics, run.final / "metrics.parquet")
    write_json_atomic(run.final / "status.json", status)


class _StopFlag:
    """Remembers the first SIGTERM / SIGINT / SIGUSR1; the loop checkpoints and exits after the epoch."""

    def __init__(self):
        self.signal = None
        self.previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum)

    def restore(self):
        for s, handler in self.previous.items():
            signal.signal(s, handler)


def _progress(cfg: TrainConfig, start_epoch: int, log):
    """A tqdm bar on a terminal; a plain line every `log_every` epochs otherwise (batch logs)."""
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=cfg.epochs, initial=start_epoch, unit="epoch")

        def show(row):
            bar.update(1)
            bar.set_postfix(ret=row["episode_return"], refresh=False)
        return show

    last_return = float("nan")

    def line(row):
        nonlocal last_return
        if row["episodes_finished"]:
            last_return = row["episode_return"]
        if row["epoch"] % cfg.log_every == 0 or row["epoch"] == cfg.epochs:
            log(f"epoch {row['epoch']}/{cfg.epochs} env_steps {row['env_steps']} "
                f"last episode return {last_return:.1f} wall {row['wall_s']:.0f}s")
    return line


def preflight(cfg: TrainConfig) -> dict:
    """Build everything on the real task and run one world-model and one actor-critic update."""
    trainer = Trainer(cfg, log=lambda *_: None)
    started = time.monotonic()
    for _ in range(cfg.agent.model_horizon + 1):
        trainer.collect()
    a = cfg.agent
    wm = trainer.agent.update_world_model(
        trainer.buffer.sample_sequences(a.batch_size, a.model_horizon, trainer.rng, trainer.device))
    ac = trainer.agent.update_actor_critic(trainer.buffer.sample_obs(a.actor_batch_size, trainer.rng, trainer.device))
    trainer.agent.assert_finite_parameters()
    return {"task": cfg.task, "size": cfg.size, "variant": variant_name(cfg.dynamics),
            "param_counts": trainer.agent.param_counts(), "seconds": time.monotonic() - started,
            "metrics": {**wm, **ac}, "pid": os.getpid()}
