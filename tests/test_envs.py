"""Every task builds with flat float32 observations and actions in [-1, 1]; simulator state
round-trips exactly (what bit-identical resume relies on); unknown names list the known ones."""
import pickle

import numpy as np
import pytest

from pwm.envs import TASKS, UnknownTaskError, make_env, make_vector_env

MT30_STOCK = ["walker-stand", "walker-walk", "walker-run", "cheetah-run", "reacher-easy", "reacher-hard",
              "acrobot-swingup", "pendulum-swingup", "cartpole-balance", "cartpole-balance-sparse",
              "cartpole-swingup", "cartpole-swingup-sparse", "cup-catch", "finger-spin", "finger-turn-easy",
              "finger-turn-hard", "fish-swim", "hopper-stand", "hopper-hop"]


def test_registry_has_the_mt30_stock_tasks_and_gymnasium_mujoco():
    assert set(MT30_STOCK) <= set(TASKS)
    assert {"Ant-v5", "Hopper-v5", "HalfCheetah-v5", "Humanoid-v5"} <= set(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_task_spaces(task):
    env = make_env(task, seed=0)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.ndim == 1 and obs.shape == env.observation_space.shape
    assert (env.action_space.low == -1).all() and (env.action_space.high == 1).all()
    obs, reward, *_ = env.step(env.action_space.sample())
    assert obs.dtype == np.float32 and np.isfinite(reward)


@pytest.mark.parametrize("task", ["cheetah-run", "cartpole-swingup", "Hopper-v5", "Ant-v5"])
def test_state_round_trip_into_a_fresh_env_is_exact_and_small(task):
    env = make_env(task, seed=5)
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (40, *env.action_space.shape)).astype(np.float32)
    for a in actions[:20]:
        env.step(a)
    state = env.get_state()
    assert len(pickle.dumps(state)) < 100_000  # a pickled MjData is ~12 MB
    first = [env.step(a)[:2] for a in actions[20:]]
    fresh = make_env(task, seed=99)  # another seed and history: nothing of it may leak through
    fresh.reset(seed=99)
    fresh.step(actions[0])
    fresh.set_state(state)
    second = [fresh.step(a)[:2] for a in actions[20:]]
    for (o1, r1), (o2, r2) in zip(first, second):
        assert np.array_equal(o1, o2) and r1 == r2


def test_unknown_task_lists_known_ones():
    with pytest.raises(UnknownTaskError, match="unknown task 'cartpole-swing'.*cartpole-swingup"):
        make_vector_env("cartpole-swing", [0])
