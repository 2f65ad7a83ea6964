"""benchmarks/termination_fit.py reads what the termination head predicts where episodes really end."""
import subprocess
import sys

import pytest
import torch

from cli_helpers import TINY, run_cli
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import inspect_policy  # noqa: E402
import termination_fit  # noqa: E402


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
