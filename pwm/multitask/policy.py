"""One task's policy learned through a pre-trained multi-task world model: the actor (with the
task's action mask) and critics of single-task PWM, imagined rollouts started from the task's
observations in the data, the world model frozen unless `finetune`."""
import time

import numpy as np
import torch

from pwm import checkpoint
from pwm.agent import Agent
from pwm.config import TaskPolicyConfig, to_yaml, variant_name
from pwm.loop import EpochLoop
from pwm.metrics import EpochMetrics
from pwm.multitask.pretrain import load_data, load_world_model


class TaskPolicyTrainer(EpochLoop):
    headline, headline_label = "imagined/return_mean", "imagined return"

    def __init__(self, cfg: TaskPolicyConfig, log=print):
        super().__init__(cfg, log)
        self.rng = np.random.default_rng(cfg.seed)
        self.wm_weights = checkpoint.load(cfg.world_model, self.device)
        world_model, self.task_set, self.wm_cfg = load_world_model(self.wm_weights, self.device)
        self.data = load_data(cfg.data, cfg.data_task_ids, self.task_set)
        self.task_id = torch.full((1,), self.task_set.index(cfg.task), dtype=torch.long, device=self.device)
        if not cfg.finetune:
            world_model.requires_grad_(False)
        self.agent = Agent(cfg, self.task_set.obs_dim, self.task_set.action_dim, self.device,
                           world_model=world_model, action_mask=self.task_set.action_mask(cfg.task))

    def task_ids(self, batch: int) -> torch.Tensor:
        return self.task_id.expand(batch)

    def train_epoch(self, started: float) -> dict:
        a, metrics = self.cfg.agent, EpochMetrics()
        self.agent.set_learning_rates(self.epoch)
        if self.cfg.finetune:
            for _ in range(a.model_updates_per_epoch):
                batch = self.data.sample_sequences(a.batch_size, a.model_horizon, self.rng, self.device, self.cfg.task)
                metrics.add(self.agent.update_world_model(batch))
        for _ in range(a.actor_updates_per_epoch):
            obs = self.data.sample_obs(a.actor_batch_size, self.rng, self.device, self.cfg.task)
            metrics.add(self.agent.update_actor_critic(obs, self.task_ids(len(obs))))
        row = metrics.read()
        self.epoch += 1
        return {"epoch": self.epoch, "updates": self.epoch * a.actor_updates_per_epoch,
                "wall_s": self.wall_before + time.monotonic() - started, **self.agent.learning_rates(), **row}

    def weights(self) -> dict:
        """Self-contained for pwm-eval: the world model (as fine-tuned), its task set, the policy."""
        return {"kind": "multitask-policy", "config": to_yaml(self.cfg), "epoch": self.epoch,
                "world_model_config": self.wm_weights["config"], "task_set": self.task_set.to_dict(),
                "world_model": self.agent.world_model.state_dict(), **self.agent.policy_weights()}

    def extra_state(self) -> dict:
        return {"agent": self.agent.state_dict(), "rng": self.rng.bit_generator.state}

    def restore_extra(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.rng.bit_generator.state = state["rng"]

    def identity(self) -> dict:
        w = self.wm_cfg
        return dict(task=self.cfg.task, tasks=list(self.task_set.names), size=w.size,
                    variant=variant_name(w.dynamics), seed=self.cfg.seed)

    def param_counts(self) -> dict:
        return self.agent.param_counts()

    def assert_finite(self) -> None:
        self.agent.assert_finite_parameters()
