"""Bad input fails at once with a message naming the key and what is allowed, and nothing is
written to the run directory."""
import json
import signal
import subprocess
import time

import pytest
import torch

from cli_helpers import TINY, bin_path, run_cli, run_cli_read_only


@pytest.mark.parametrize("override,expected", [
    ("task=cartpole-swingupp", "task='cartpole-swingupp' is not allowed; choose one of: Ant-v5"),
    ("size=2M", "size='2M' is not allowed; choose one of: 1M, 5M, 19M, 48M, 317M"),
    ("dynamics.substeps=0", "dynamics.substeps=0 is not allowed; it must be >= 1"),
    ("dynamics.integrator=rk4", "dynamics.integrator='rk4' is not allowed; choose one of: euler, heun"),
    ("epochs=-5", "epochs=-5 is not allowed; it must be >= 1"),
    ("dynamcs.kind=flow", "Could not override 'dynamcs.kind'. Key 'dynamcs' not in 'TrainConfig'"),
    ("epochs=abc", "Error merging override epochs=abc: Value 'abc' of type 'str' could not be converted to Integer"),
    ("agent.noise_beta=3", "agent.noise_beta=3.0 is not allowed; it must be in [0, 2]"),
    ("model.reward_head=gauss", "model.reward_head='gauss' is not allowed; choose one of: twohot, scalar"),
    ("+agent.batchsize=16", "'+agent.batchsize=16': keys cannot be added (+) or deleted (~); 'agent.batchsize' is not a key"),
    ("agent.actor_lr=-1", "agent.actor_lr=-1.0 is not allowed; it must be > 0"),
    ("agent.gamma=2.0", "agent.gamma=2.0 is not allowed; it must be in (0, 1]"),
    ("model.vmin=10", "model.vmin=10.0 must be below model.vmax=10.0"),
    ("device=gpu", "device='gpu' is not allowed; use cpu, cuda or cuda:N"),
    pytest.param("device=cuda", "device='cuda': this machine has no CUDA device; use device=cpu",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")),
    ("agent.random_steps=0", "agent.random_steps=0 with env.steps_per_epoch=8 leaves 8 steps per environment"),
    ("agent.rollout_start=real", "agent.rollout_start='real' is not allowed; choose one of: buffer, env"),
    ("agent.precision=fp16", "agent.precision='fp16' is not allowed; choose one of: auto, fp32, bf16"),
    ("model.termination=maybe", "model.termination='maybe' is not allowed; choose one of: auto, on, off"),
    ("agent.adam=sgd", "agent.adam='sgd' is not allowed; choose one of: foreach, fused"),
    ("agent.policy_average_rate=1.5", "agent.policy_average_rate=1.5 is not allowed; it must be in [0, 1]"),
])
def test_train_rejects_bad_config_before_any_work(tmp_path, override, expected):
    run_dir = tmp_path / "run"
    result = run_cli("pwm-train", [f"run_dir={run_dir}", *override.split()], timeout=120)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not run_dir.exists()


def test_preflight_and_eval_reject_bad_config(tmp_path):
    result = run_cli("pwm-preflight", [f"out={tmp_path / 'p.json'}", "size=3M"], timeout=120)
    assert result.returncode == 2 and "size='3M'" in result.stderr
    result = run_cli("pwm-eval", ["episodes=3"], timeout=120)
    assert result.returncode == 2 and "checkpoint=PATH" in result.stderr


def test_preflight_runs_one_update_on_the_real_task(tmp_path):
    out = tmp_path / "preflight.json"
    result = run_cli("pwm-preflight", [f"out={out}", "task=pendulum-swingup", "dynamics.kind=flow",
                                       "dynamics.integrator=heun", "dynamics.substeps=2",
                                       "agent.batch_size=8", "agent.actor_batch_size=8", "env.num_envs=2"],
                     timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["preflight.json"]  # no Hydra outputs/ clutter
    import json
    report = json.loads(out.read_text())
    assert report["variant"] == "flow-heun-k2"
    assert report["param_counts"]["dynamics"] > 0
    assert report["metrics"]["loss/world_model"] > 0


@pytest.mark.parametrize("command", ["pwm-train", "pwm-eval", "pwm-preflight", "pwm-mt-world-model", "pwm-mt-policy"])
def test_help_lists_every_key_with_its_default_and_meaning(command):
    result = run_cli(command, ["--help"], timeout=120)
    assert result.returncode == 0, result.stderr
    assert "device=cpu  # cpu | cuda | cuda:N" in result.stdout
    if command == "pwm-train":
        assert "agent.critic_iterations=8  # passes over the imagined states per actor update (PWM: 8)" in result.stdout
        assert "model.actor_dims=[400,200,100]" in result.stdout


def test_run_dir_that_cannot_be_a_folder_is_one_line_and_exit_2(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for run_dir in (a_file, a_file / "run"):
        result = run_cli("pwm-train", [f"run_dir={run_dir}"], timeout=120)
        assert result.returncode == 2 and f"run_dir={run_dir}:" in result.stderr and "Traceback" not in result.stderr
    assert a_file.read_text() == "x"


def test_run_dir_on_a_read_only_file_system_is_one_line_and_exit_2(tmp_path):
    result = run_cli_read_only("pwm-train", [f"run_dir={tmp_path / 'run'}"], tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"invalid configuration: run_dir={tmp_path / 'run'}: Read-only file system"
    assert list(tmp_path.iterdir()) == []


def test_damaged_run_folder_files(tmp_path):
    run_dir = tmp_path / "run"
    tiny = [f"run_dir={run_dir}", *TINY, "epochs=2", "checkpoint_every=2"]
    assert run_cli("pwm-train", tiny).returncode == 0
    (run_dir / "status.json").write_text("")  # an empty status is rewritten, the run goes on
    result = run_cli("pwm-train", tiny)
    assert result.returncode == 0 and "status.json is unreadable" in result.stderr
    (run_dir / "config.yaml").write_text("agent: [")  # the run's identity is gone: refuse, name the file
    result = run_cli("pwm-train", tiny)
    assert result.returncode == 2 and "config.yaml is unreadable" in result.stderr
    assert (run_dir / "config.yaml").read_text() == "agent: ["


def test_sigterm_while_the_trainer_is_built_exits_75_with_a_status(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([bin_path("pwm-train"), f"run_dir={run_dir}", *TINY], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (run_dir / "train.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)  # the lock is taken: the environments and networks are being built
    assert proc.wait(timeout=120) == 75, proc.stderr.read()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "interrupted" and "before training started" in status["reason"]


def test_a_config_saved_with_a_retired_key_at_its_off_value_still_loads():
    """Run folders and checkpoints of an earlier version carry `agent.greedy_envs: 0`: they still
    load (evaluate, resume) as the same run; a value this code cannot train is refused."""
    from pwm.config import compose_config, from_yaml_text, to_yaml

    current = compose_config("train", [])
    saved = to_yaml(current).replace("agent:\n", "agent:\n  greedy_envs: 0\n", 1)
    assert "greedy_envs: 0" in saved
    assert from_yaml_text(saved) == current
    with pytest.raises(Exception, match="greedy_envs"):
        from_yaml_text(saved.replace("greedy_envs: 0", "greedy_envs: 2"))


@pytest.mark.parametrize("config_class", ["TrainConfig", "PretrainConfig"])
def test_a_config_saved_before_a_key_existed_loads_with_the_value_that_reproduces_it(config_class):
    """Run folders and checkpoints saved before `model.symlog_obs` existed were trained without
    symlog: they load (resume, evaluate) as such, whatever today's default; a saved value wins."""
    import pwm.config
    from pwm.config import from_yaml_text, to_yaml

    cls = getattr(pwm.config, config_class)
    current = cls()
    for value in (True, False):
        current.model.symlog_obs = value
        saved = to_yaml(current)
        assert from_yaml_text(saved, cls).model.symlog_obs is value
    older = "\n".join(line for line in saved.splitlines() if "symlog_obs" not in line)
    assert "symlog_obs" not in older
    assert from_yaml_text(older, cls).model.symlog_obs is False
