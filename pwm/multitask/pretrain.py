"""Offline training of one world model over a task set: task embeddings (max_norm 1), padded
observations and actions, MLP or flow dynamics exactly as single-task, TD-MPC2's loss
(consistency + reward, rho-weighted) on sequences drawn task-balanced from the data."""
import time

import numpy as np

from pwm.agent import set_decayed_lr, update_world_model, world_model_optimizer
from pwm.metrics import EpochMetrics, check_finite
from pwm.config import PretrainConfig, from_yaml_text, to_yaml, variant_name
from pwm.layers import count_params
from pwm.loop import EpochLoop
from pwm.multitask.data import MultiTaskData
from pwm.multitask.tasks import TASK_IDS, TaskSet
from pwm.world_model import WorldModel


def build_world_model(cfg: PretrainConfig, task_set: TaskSet) -> WorldModel:
    return WorldModel(cfg, task_set.obs_dim, task_set.action_dim, num_tasks=len(task_set.names), task_dim=cfg.task_dim)


def load_world_model(weights: dict, device) -> tuple[WorldModel, TaskSet, PretrainConfig]:
    """The world model of a pretraining checkpoint, with its task set and config."""
    cfg = from_yaml_text(weights["config"], PretrainConfig)
    task_set = TaskSet.from_dict(weights["task_set"])
    wm = build_world_model(cfg, task_set).to(device)
    wm.load_state_dict(weights["world_model"])
    return wm, task_set, cfg


def load_data(sources, data_task_ids, task_set: TaskSet) -> MultiTaskData:
    return MultiTaskData.load(sources, task_set, list(data_task_ids) or TASK_IDS)


class Pretrainer(EpochLoop):
    headline, headline_label = "loss/world_model", "world-model loss"

    def __init__(self, cfg: PretrainConfig, log=print):
        super().__init__(cfg, log)
        self.rng = np.random.default_rng(cfg.seed)
        self.task_set = TaskSet.of(cfg.tasks)
        self.data = load_data(cfg.data, cfg.data_task_ids, self.task_set)
        self.world_model = build_world_model(cfg, self.task_set).to(self.device)
        self.opt = world_model_optimizer(self.world_model, cfg.agent)
        log(f"{self.data.transitions()} transitions of {len(self.task_set.names)} tasks: "
            + ", ".join(f"{t} {self.data.episodes(t)} episodes" for t in self.task_set.names))

    def update(self) -> dict:
        a = self.cfg.agent
        batch = self.data.sample_sequences(a.batch_size, a.model_horizon, self.rng, self.device)
        return update_world_model(self.world_model, self.opt, batch, a)

    def train_epoch(self, started: float) -> dict:
        a = self.cfg.agent
        lr = set_decayed_lr(self.opt, a.model_lr, a.final_lr, self.epoch, a.lr_decay_epochs)
        metrics = EpochMetrics()
        for _ in range(self.cfg.updates_per_epoch):
            metrics.add(self.update())
        row = metrics.read()
        self.epoch += 1
        return {"epoch": self.epoch, "updates": self.epoch * self.cfg.updates_per_epoch,
                "wall_s": self.wall_before + time.monotonic() - started, "lr/model": lr,
                **row}

    def weights(self) -> dict:
        return {"kind": "multitask-world-model", "config": to_yaml(self.cfg), "epoch": self.epoch,
                "task_set": self.task_set.to_dict(), "world_model": self.world_model.state_dict()}

    def extra_state(self) -> dict:
        return {"world_model": self.world_model.state_dict(), "opt": self.opt.state_dict(),
                "rng": self.rng.bit_generator.state}

    def restore_extra(self, state: dict) -> None:
        self.world_model.load_state_dict(state["world_model"])
        self.opt.load_state_dict(state["opt"])
        self.rng.bit_generator.state = state["rng"]

    def identity(self) -> dict:
        c = self.cfg
        return dict(tasks=list(c.tasks), size=c.size, variant=variant_name(c.dynamics), seed=c.seed)

    def param_counts(self) -> dict:
        return {**self.world_model.param_counts(), "total": count_params(self.world_model)}

    def assert_finite(self) -> None:
        for p in self.world_model.parameters():
            check_finite("parameters/world_model", p)
