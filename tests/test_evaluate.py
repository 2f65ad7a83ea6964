"""pwm-eval returns real-environment returns of the deterministic policy, on seeds that no
training environment uses."""
import numpy as np
import pandas as pd
import pytest
import torch

from cli_helpers import TINY, run_cli
from pwm import checkpoint
from pwm.config import compose_config
from pwm.envs import make_env
from pwm.evaluate import Policy, run_episodes
from pwm.trainer import training_seeds


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    result = run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "epochs=8", "checkpoint_every=4"])
    assert result.returncode == 0, result.stderr
    return run_dir / "checkpoints" / "epoch_000008.pt"


class Recording:
    """Wraps a policy and keeps every batch of actions it chose."""

    def __init__(self, policy):
        self.policy, self.actions = policy, []

    def __call__(self, obs):
        self.actions.append(self.policy(obs))
        return self.actions[-1]


def test_episode_return_equals_stepping_the_environment_by_hand(trained_checkpoint):
    policy = Recording(Policy(checkpoint.load(trained_checkpoint)))
    seeds = [1_000_000, 1_000_001]
    results = run_episodes(policy, "cartpole-swingup", seeds)
    for i, seed in enumerate(seeds):
        env = make_env("cartpole-swingup", seed)
        env.reset(seed=seed)
        total, steps = 0.0, 0
        for batch in policy.actions:
            _, reward, terminated, truncated, _ = env.step(batch[i])
            total, steps = total + reward, steps + 1
            if terminated or truncated:
                break
        assert results[i]["return"] == total and results[i]["length"] == steps == 500


def test_policy_is_deterministic_and_closed_loop(trained_checkpoint):
    policy = Policy(checkpoint.load(trained_checkpoint))
    obs = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert np.array_equal(policy(obs), policy(obs))
    assert not np.allclose(policy(obs)[0], policy(obs)[1])  # actions depend on the observation
    with torch.no_grad():
        z = policy.world_model.encode(torch.as_tensor(obs))
        assert np.allclose(policy(obs), torch.tanh(policy.actor.mean(z)).numpy())


def test_pwm_eval_writes_one_row_per_episode(trained_checkpoint, tmp_path):
    out = tmp_path / "eval.parquet"
    result = run_cli("pwm-eval", [f"checkpoint={trained_checkpoint}", "episodes=3", f"out={out}"])
    assert result.returncode == 0, result.stderr
    df = pd.read_parquet(out)
    assert list(df.columns) == ["task", "size", "variant", "seed", "checkpoint_epoch", "env_steps",
                                "episode", "eval_seed", "return", "length"]
    assert df["episode"].tolist() == [0, 1, 2] and (df["checkpoint_epoch"] == 8).all()
    assert (df["length"] == 500).all() and df["return"].between(0, 500).all()
    train_cfg = compose_config("train", TINY)
    assert not set(df["eval_seed"]) & set(training_seeds(train_cfg))
