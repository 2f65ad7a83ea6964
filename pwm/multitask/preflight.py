"""Smoke test of a multi-task configuration before any of its jobs start: every task of the set
is built for real, a random episode of each goes through the chunk format, and the whole chain
(world-model update, one policy epoch per task, the evaluation policy acting in each real
environment) runs once."""
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from pwm import checkpoint
from pwm.config import MultiTaskPreflightConfig, PretrainConfig, TaskPolicyConfig, variant_name
from pwm.envs import make_env
from pwm.evaluate import MultiTaskPolicy
from pwm.metrics import EpochMetrics
from pwm.multitask.data import write_chunk
from pwm.multitask.policy import TaskPolicyTrainer
from pwm.multitask.pretrain import Pretrainer
from pwm.multitask.sources import collect_random


def preflight(cfg: MultiTaskPreflightConfig) -> dict:
    started = time.monotonic()
    quiet = lambda *_: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        tmp, data = Path(tmp), Path(tmp) / "data"
        for task in cfg.tasks:
            write_chunk(collect_random(task, episodes=1, seed=cfg.seed), data / f"{task}.pt")
        fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(PretrainConfig)}
        pretrain_cfg = PretrainConfig(**{**fields, "data": [str(data)], "data_task_ids": []})
        pretrainer = Pretrainer(pretrain_cfg, log=quiet)
        wm_metrics = EpochMetrics()
        wm_metrics.add(pretrainer.update())
        wm_metrics = wm_metrics.read()
        checkpoint.save_atomic(pretrainer.weights(), tmp / "world_model.pt")
        policy_metrics = {}
        for task in cfg.tasks:
            policy_cfg = TaskPolicyConfig(world_model=str(tmp / "world_model.pt"), task=task, data=[str(data)],
                                          seed=cfg.seed, model=cfg.model, agent=cfg.agent)
            trainer = TaskPolicyTrainer(policy_cfg, log=quiet)
            policy_metrics[task] = trainer.train_epoch(time.monotonic())
            trainer.assert_finite()
            env = make_env(task, seed=0)
            obs, _ = env.reset(seed=0)
            env.step(MultiTaskPolicy(trainer.weights())(obs[None])[0])
            env.close()
    return {"task": "+".join(cfg.tasks), "tasks": list(cfg.tasks), "size": cfg.size,
            "variant": variant_name(cfg.dynamics), "param_counts": pretrainer.param_counts(),
            "seconds": time.monotonic() - started, "metrics": {"world_model": wm_metrics, "policy": policy_metrics},
            "pid": os.getpid()}
