"""Metrics stay on the device through an epoch and are read once; a non-finite loss is still named."""
import math

import pytest
import torch

from pwm.agent import Agent
from pwm.config import compose_config
from pwm.metrics import DivergenceError, EpochMetrics


def test_epoch_metrics_average_and_name_the_non_finite_loss():
    metrics = EpochMetrics()
    metrics.add({"loss/reward": torch.tensor(1.0), "grad_norm/actor": torch.tensor(2.0)})
    metrics.add({"loss/reward": torch.tensor(3.0)})
    assert metrics.read() == {"grad_norm/actor": 2.0, "loss/reward": 2.0}
    metrics.add({"loss/critic": torch.tensor(math.nan), "grad_norm/critic": torch.tensor(math.inf)})
    with pytest.raises(DivergenceError, match="non-finite loss/critic"):
        metrics.read()


def test_updates_return_tensors_not_host_floats():
    agent = Agent(compose_config("train", ["agent.critic_iterations=1", "agent.actor_batch_size=8"]), 5, 1,
                  torch.device("cpu"))
    batch = {"obs": torch.randn(16, 5), "next_obs": torch.randn(3, 16, 5), "action": torch.rand(3, 16, 1),
             "reward": torch.rand(3, 16, 1), "terminated": torch.zeros(3, 16, 1)}
    values = {**agent.update_world_model(batch), **agent.update_actor_critic(torch.randn(8, 5))}
    assert all(torch.is_tensor(v) and v.dim() == 0 for v in values.values()), values
    assert {"loss/dynamics", "loss/reward", "loss/actor", "loss/critic", "actor/entropy"} <= set(values)
