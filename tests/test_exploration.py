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
