"""Colored acting noise (pwm.exploration): standard-normal steps, correlated in time by its
colour, reproducible from its state."""
import numpy as np
import pytest

from pwm.exploration import ColoredNoise


def lag_one_correlation(x: np.ndarray) -> float:
    return float(np.corrcoef(x[..., :-1].ravel(), x[..., 1:].ravel())[0, 1])


@pytest.mark.parametrize("beta, low, high", [(0.0, -0.1, 0.1), (1.0, 0.5, 1.0), (2.0, 0.95, 1.0)])
def test_steps_are_standard_normal_and_correlated_by_colour(beta, low, high):
    noise = ColoredNoise(beta, num_envs=64, action_dim=2, length=500, seed=0)
    steps = np.stack([noise() for _ in range(500)], axis=-1)  # [envs, dims, time]
    assert steps.shape == (64, 2, 500) and steps.dtype == np.float32
    assert 0.7 < steps.std() < 1.2
    assert low < lag_one_correlation(steps) < high


def test_the_state_continues_the_same_sequence_across_a_new_draw():
    noise = ColoredNoise(1.0, num_envs=3, action_dim=1, length=10, seed=5)
    for _ in range(7):
        noise()
    copy = ColoredNoise(1.0, num_envs=3, action_dim=1, length=10, seed=99)
    copy.load_state_dict(noise.state_dict())
    assert all(np.array_equal(noise(), copy()) for _ in range(25))  # crosses two redraws


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_greedy_envs_act_with_the_deterministic_policy_and_the_rest_explore(tmp_path, beta):
    """agent.greedy_envs=2: after the random phase the first two training environments take the
    deterministic action (as evaluation does), every other one a noisy action, white or coloured."""
    import torch

    from pwm.config import compose_config
    from pwm.trainer import Trainer

    cfg = compose_config("train", [f"run_dir={tmp_path}", "task=pendulum-swingup", "env.num_envs=5",
                                   "env.steps_per_epoch=1", "agent.model_horizon=1", f"agent.noise_beta={beta}",
                                   "agent.greedy_envs=2"])
    trainer = Trainer(cfg, log=lambda *_: None)
    trainer.epoch = trainer.random_epochs
    obs = trainer.obs.copy()
    trainer.collect()
    with torch.no_grad():
        greedy = trainer.agent.actor(trainer.agent.world_model.encode(torch.as_tensor(obs)), deterministic=True).numpy()
    taken = trainer.buffer.action[:, trainer.buffer.count - 1]
    np.testing.assert_array_equal(taken[:2], greedy[:2])
    assert not np.isclose(taken[2:], greedy[2:], atol=1e-3).any()
