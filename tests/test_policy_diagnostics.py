"""The policy diagnostics of benchmarks/: what the termination head predicts where episodes really
end (termination_fit.py), what the critic values real states at (value_fit.py), and the episode
player both share with inspect_policy.py."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from cli_helpers import TINY, run_cli
from pwm.evaluate import load_policy, read_checkpoint
from pwm.math import lambda_returns
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import inspect_policy  # noqa: E402
import termination_fit  # noqa: E402
import value_fit  # noqa: E402
from model_fit import restored_trainer  # noqa: E402


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("hopper") / "run"
    hopper = [*TINY, "task=Hopper-v5", "env.num_envs=4", "epochs=40", "checkpoint_every=40"]
    assert run_cli("pwm-train", [f"run_dir={run_dir}", *hopper]).returncode == 0
    return run_dir


def test_summary_separates_the_steps_that_ended_an_episode_from_the_rest():
    probability = torch.tensor([[0.9, 0.1, 0.3], [0.2, 0.6, 0.8]])
    terminated = torch.tensor([[True, False, False], [False, True, True]])
    valid = torch.tensor([[True, True, True], [True, True, False]])  # the last one is past its episode's end
    fit = termination_fit.summary(probability, terminated, valid)
    assert fit["terminal_steps"] == 2
    assert fit["p_terminal"] == torch.tensor([0.9, 0.6]).mean().item() and fit["caught"] == 1.0
    assert fit["p_other"] == torch.tensor([0.1, 0.3, 0.2]).mean().item() and fit["false_alarms"] == 0.0


def test_it_reads_a_hopper_run_s_buffer_and_final_policy(hopper_run):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "termination_fit.py"), str(hopper_run),
                             "--sequences", "256", "--episodes", "3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[1:5]
    sources = [line.split(":")[0].split() for line in lines]
    assert sources == [["replay", "buffer", "rolled", "out"], ["replay", "buffer", "encoded"],
                       ["final", "policy", "rolled", "out"], ["final", "policy", "encoded"]]
    assert all(int(line.split(":")[1].split()[0]) > 0 for line in lines[:2])  # a young Hopper falls: the buffer holds terminations
    assert all("3 terminal steps, episodes of" in line for line in lines[2:])  # each of the 3 episodes ends in a fall


def test_inspect_policy_replays_the_episode_that_termination_fit_plays(hopper_run):
    """Both diagnostics read one evaluation episode (inspect_policy.play); replay adds the
    one-step predicted termination of every real step."""
    weights = torch.load(hopper_run / "final" / "checkpoint.pt", map_location="cpu", weights_only=False)
    policy = inspect_policy.Policy(weights)
    episode = inspect_policy.play(policy, inspect_policy.SEED_BASE)
    assert episode["terminated"] and len(episode["observations"]) == len(episode["actions"]) + 1
    model = inspect_policy.WorldModel(policy.cfg, weights["obs_dim"], weights["action_dim"], termination=True)
    model.load_state_dict(weights["world_model"])
    replayed = inspect_policy.replay(policy, model, inspect_policy.SEED_BASE, tail=10)
    assert replayed["return"] == episode["return"] and replayed["steps"] == len(episode["actions"])
    assert len(replayed["terminations"]) == replayed["steps"] and ((0 <= replayed["terminations"]) & (replayed["terminations"] <= 1)).all()
    assert (replayed["last"] == episode["observations"][-1]).all()


def test_a_run_without_a_termination_head_is_told_so(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "epochs=20", "checkpoint_every=20"]).returncode == 0
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "termination_fit.py"), str(run_dir)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "has no termination head" in result.stderr and "cartpole-swingup" in result.stderr


def test_the_real_return_is_the_critics_target_at_lambda_1_bootstrapped_at_the_end():
    """value_fit's real return: lambda_returns at lambda 1 adds the rewards up from the end, and
    only the last value (the bootstrap) counts."""
    rewards = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)[:, None, None]
    values = torch.tensor([9.0, 9.0, 9.0, 4.0], dtype=torch.float64)[:, None, None]
    returns = lambda_returns(rewards, values, gamma=0.5, lam=1.0)[:, 0, 0]
    assert returns.tolist() == [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 4, 2 + 0.5 * 3 + 0.25 * 4, 3 + 0.5 * 4]


def test_value_fit_sets_the_critic_beside_the_real_return_of_each_state(hopper_run):
    trainer, _ = restored_trainer(hopper_run)
    episode = inspect_policy.play(load_policy(read_checkpoint(hopper_run / "final" / "checkpoint.pt")),
                                  inspect_policy.SEED_BASE)
    values, returns = value_fit.episode_values(trainer, episode)
    assert episode["terminated"] and len(values) == len(returns) == len(episode["actions"])
    assert returns[-1] == episode["rewards"][-1]  # a fall: nothing after the last reward
    assert returns[0] == pytest.approx(sum(r * trainer.cfg.agent.gamma ** t for t, r in enumerate(episode["rewards"])))
    assert np.isfinite(values).all() and values.std() > 0
    fit = value_fit.value_fit(trainer, hopper_run / "final" / "checkpoint.pt", episodes=1)  # the episode above
    assert fit["terminated"] == 1 and fit["first"] == pytest.approx((values[0], returns[0]))
    assert fit["before_end"][1] == pytest.approx((values[-1], returns[-1])) and returns[-1] > 0  # Hopper pays 1 per step alive


def test_value_fit_prints_the_table(hopper_run):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "value_fit.py"), str(hopper_run), "--episodes", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "first step of 2 episodes" in lines[1] and "steps before the termination (2 episodes)" in lines[2]
    assert [line.split()[0] for line in lines[3:5]] == ["value", "real"] and len(lines[3].split()) == 1 + 4
