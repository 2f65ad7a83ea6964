"""Checkpoint and resume: a run interrupted anywhere (SIGKILL, SLURM's signals, a truncated
checkpoint) and restarted ends bit-identical to an uninterrupted run: parameters, optimiser
state and every metrics row (wall-clock columns aside)."""
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import torch

from cli_helpers import TINY, bin_path, run_cli
from pwm.buffer import ReplayBuffer
from pwm.precision import native_bf16
from pwm.run_dir import RunDir

EPOCHS, EVERY = 24, 4
ARGS = [*TINY, f"epochs={EPOCHS}", f"checkpoint_every={EVERY}"]


def train(run_dir, *extra, timeout=600):
    return run_cli("pwm-train", [f"run_dir={run_dir}", *ARGS, *extra], timeout=timeout)


def start(run_dir):
    return subprocess.Popen([bin_path("pwm-train"), f"run_dir={run_dir}", *ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_epoch(run_dir, epoch, proc, timeout=300):
    deadline = time.monotonic() + timeout
    status = RunDir(run_dir).status
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        if status.exists():
            try:
                if json.loads(status.read_text()).get("epoch", 0) >= epoch:
                    return
            except json.JSONDecodeError:
                pass
        time.sleep(0.05)
    raise TimeoutError(f"epoch {epoch} not reached")


def final_state(run_dir):
    state = torch.load(run_dir / "state" / f"epoch_{EPOCHS:06d}.pt", weights_only=False)
    metrics = pd.read_parquet(run_dir / "final" / "metrics.parquet").drop(columns=["wall_s", "cpu_s"])
    return state["agent"], metrics


def assert_identical(a_dir, b_dir):
    (agent_a, metrics_a), (agent_b, metrics_b) = final_state(a_dir), final_state(b_dir)
    pd.testing.assert_frame_equal(metrics_a, metrics_b, check_exact=True)
    assert len(metrics_b) == EPOCHS and metrics_b["epoch"].tolist() == list(range(1, EPOCHS + 1))
    for module in ("world_model", "actor", "critics", "target_critics", "policy_average"):
        for name, value in agent_a[module].items():
            same = torch.equal(value, agent_b[module][name]) if torch.is_tensor(value) else value == agent_b[module][name]
            assert same, f"{module}.{name} differs"
    for opt in ("model_opt", "actor_opt", "critic_opt"):
        for key, s in agent_a[opt]["state"].items():
            assert torch.equal(s["exp_avg"], agent_b[opt]["state"][key]["exp_avg"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = train(run_dir)
    assert result.returncode == 0, result.stderr
    return run_dir


def test_uninterrupted_run_writes_the_documented_files(reference):
    for name in ("config.yaml", "status.json", "metrics.parquet", "param_counts.json",
                 "final/metrics.parquet", "final/status.json", "final/checkpoint.pt"):
        assert (reference / name).exists(), name
    assert sorted(p.name for p in (reference / "checkpoints").iterdir()) == [
        f"epoch_{e:06d}.pt" for e in range(EVERY, EPOCHS + 1, EVERY)]
    assert len(list((reference / "state").iterdir())) == 2  # only the newest resume states are kept
    status = json.loads((reference / "final" / "status.json").read_text())
    assert status["state"] == "completed" and status["epoch"] == EPOCHS
    assert status["precision"] == ("bf16" if native_bf16("cpu") else "fp32")  # agent.precision=auto
    metrics = pd.read_parquet(reference / "metrics.parquet")
    for col in ("epoch", "env_steps", "wall_s", "episode_return", "loss/dynamics", "loss/reward",
                "loss/actor", "loss/critic", "grad_norm/actor", "lr/model", "imagined/reward_mean",
                "imagined/reward_std"):
        assert col in metrics.columns, col
    assert metrics["lr/actor"].is_monotonic_decreasing


def test_sigkill_at_a_random_moment_then_rerun_is_bit_identical(reference, tmp_path):
    run_dir = tmp_path / "run"
    wall = pd.read_parquet(reference / "metrics.parquet").set_index("epoch")["wall_s"]
    proc = start(run_dir)
    wait_for_epoch(run_dir, EVERY, proc)  # then kill anywhere in the rest of the run
    time.sleep(random.uniform(0, 0.8) * (wall[EPOCHS] - wall[EVERY]))
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    result = train(run_dir)
    assert result.returncode == 0, result.stderr
    resumed = int(result.stderr.split("resumed from epoch ")[1].split()[0])
    assert resumed >= EVERY
    assert_identical(reference, run_dir)


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM])
def test_slurm_signals_checkpoint_and_exit_75(reference, tmp_path, sig):
    run_dir = tmp_path / "run"
    proc = start(run_dir)
    wait_for_epoch(run_dir, EVERY + 2, proc)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 75, out
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "interrupted" and sig.name in status["reason"]
    assert (run_dir / "state" / f"epoch_{status['epoch']:06d}.pt").exists()
    assert train(run_dir).returncode == 0
    assert_identical(reference, run_dir)


def test_truncated_newest_checkpoint_falls_back_to_the_previous(reference, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    shutil.rmtree(run_dir / "final")
    newest = run_dir / "state" / f"epoch_{EPOCHS:06d}.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    result = train(run_dir)
    assert result.returncode == 0, result.stderr
    assert "is unreadable" in result.stderr and f"resumed from epoch {EPOCHS - EVERY}" in result.stderr
    assert_identical(reference, run_dir)


def test_second_trainer_on_the_same_run_dir_is_refused(tmp_path):
    run = RunDir(tmp_path / "run")
    handle = run.lock()
    try:
        result = train(run.root, timeout=120)
    finally:
        handle.close()
    assert result.returncode == 73
    assert "is in use by another trainer" in result.stderr and f"pid {os.getpid()}" in result.stderr


def test_rerun_with_another_config_is_refused(reference, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    result = train(run_dir, "seed=4", timeout=120)
    assert result.returncode == 2 and "another configuration" in result.stderr


def test_divergence_stops_with_status_and_keeps_metrics(tmp_path):
    run_dir = tmp_path / "run"
    result = train(run_dir, "agent.model_lr=1e36", "agent.final_lr=1e36")
    assert result.returncode == 3, result.stderr
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "diverged" and status["loss"].startswith(("loss/", "parameters/"))
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    assert len(metrics) == status["diverged_at_epoch"] - 1
    assert not (run_dir / "final").exists()
    again = train(run_dir, "agent.model_lr=1e36", "agent.final_lr=1e36", timeout=120)
    assert again.returncode == 3 and "diverged before" in again.stderr  # a retry fails at once


def whole_and_interrupted(tmp_path, extra: list[str], epochs: int = 12):
    """The final states and replay buffers of a run trained in one go and of the same run
    stopped by SLURM's signal after its first checkpoint and resumed; metrics must be equal."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    extra = [*extra, f"epochs={epochs}"]
    assert train(whole, *extra).returncode == 0
    proc = subprocess.Popen([bin_path("pwm-train"), f"run_dir={parts}", *ARGS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_epoch(parts, EVERY + 2, proc)
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=120) == 75
    assert train(parts, *extra).returncode == 0
    states = [torch.load(d / "state" / f"epoch_{epochs:06d}.pt", weights_only=False) for d in (whole, parts)]
    buffers = [ReplayBuffer.from_chunks(d / "buffer", s["buffer"], 4000).arrays() for d, s in zip((whole, parts), states)]
    pd.testing.assert_frame_equal(pd.read_parquet(whole / "metrics.parquet").drop(columns=["wall_s", "cpu_s"]),
                                  pd.read_parquet(parts / "metrics.parquet").drop(columns=["wall_s", "cpu_s"]))
    return states, buffers


def test_terminating_task_with_its_termination_head_resumes_bit_identically(tmp_path):
    """Hopper: stored terminations, the termination head and the return scale are resume state too."""
    (a, b), buffers = whole_and_interrupted(tmp_path, ["task=Hopper-v5"])
    assert buffers[0]["terminated"].sum() > 0, "no Hopper episode fell: the test would not exercise terminations"
    for k in ("obs", "next_obs", "action", "reward", "terminated", "episode"):
        assert np.array_equal(buffers[0][k], buffers[1][k]), k
    assert "termination_head.0.0.weight" in a["agent"]["world_model"]
    for name, tensor in a["agent"]["world_model"].items():
        assert torch.equal(tensor, b["agent"]["world_model"][name]), name
    assert torch.equal(a["agent"]["return_scale"], b["agent"]["return_scale"])


def test_colored_exploration_noise_resumes_bit_identically(tmp_path):
    """Pink acting noise (the default): its sequences, position and generator are resume state, so
    the actions taken after a resume are the ones the uninterrupted run took."""
    (a, b), buffers = whole_and_interrupted(tmp_path, [])
    assert np.array_equal(buffers[0]["action"], buffers[1]["action"])
    assert a["noise"]["position"] == b["noise"]["position"] > 0


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_either_precision_resumes_bit_identically(tmp_path, precision):
    """Whatever auto picks on this machine, both precisions round-trip: every metrics row
    (whole_and_interrupted) and every weight of the world model, actor and critics."""
    (a, b), _ = whole_and_interrupted(tmp_path, [f"agent.precision={precision}"])
    for module in ("world_model", "actor", "critics"):
        for name, tensor in a["agent"][module].items():
            assert torch.equal(tensor, b["agent"][module][name]), f"{module}.{name}"
    assert json.loads((tmp_path / "whole" / "status.json").read_text())["precision"] == precision


def test_fused_adam_resumes_bit_identically(tmp_path):
    """agent.adam=fused keeps its step counters with the parameters: its state round-trips too."""
    (a, b), _ = whole_and_interrupted(tmp_path, ["agent.adam=fused"])
    for opt in ("model_opt", "actor_opt", "critic_opt"):
        assert a["agent"][opt]["param_groups"][0]["fused"] is True
        for key, s in a["agent"][opt]["state"].items():
            for name in ("step", "exp_avg", "exp_avg_sq"):
                assert torch.equal(s[name], b["agent"][opt]["state"][key][name]), f"{opt} {key} {name}"
    for name, tensor in a["agent"]["actor"].items():
        assert torch.equal(tensor, b["agent"]["actor"][name]), name


def test_a_failed_write_fails_the_run_cleanly_and_the_next_run_resumes(reference, tmp_path):
    """A full disk, emulated by a 1 MB file-size limit: the checkpoint write fails, the temporary
    file is removed, the status says failed with the reason, exit 1; then a run with room resumes
    from the last good state and ends bit-identical."""
    run_dir = tmp_path / "run"
    proc = start(run_dir)
    wait_for_epoch(run_dir, EVERY + 1, proc)
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(timeout=120) == 75
    good = json.loads((run_dir / "status.json").read_text())["epoch"]
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # noqa: E731
    full = subprocess.run([bin_path("pwm-train"), f"run_dir={run_dir}", *ARGS], capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)
    assert full.returncode == 1, full.stderr
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and status["reason"]  # torch reports the short write in its own words
    assert not [p for p in run_dir.rglob("*.tmp")], "a temporary file was left behind"
    result = train(run_dir)
    assert result.returncode == 0, result.stderr
    assert f"resumed from epoch {good}" in result.stderr
    assert_identical(reference, run_dir)


def _resumable_copy(reference, run_dir):
    shutil.copytree(reference, run_dir)
    shutil.rmtree(run_dir / "final")
    return run_dir / "state" / f"epoch_{EPOCHS:06d}.pt", run_dir / "state" / f"epoch_{EPOCHS - EVERY:06d}.pt"


def test_resume_skips_a_damaged_or_foreign_newest_state(reference, tmp_path):
    other = tmp_path / "other"
    assert train(other, "seed=4").returncode == 0  # the same task, another run
    for damage in ("zeroed", "foreign"):
        run_dir = tmp_path / damage
        newest, _ = _resumable_copy(reference, run_dir)
        if damage == "zeroed":  # silent damage: 4 KiB zeroed in the middle, torch alone would load it
            data = bytearray(newest.read_bytes())
            data[len(data) // 2: len(data) // 2 + 4096] = bytes(4096)
            newest.write_bytes(data)
        else:
            shutil.copyfile(other / "state" / f"epoch_{EPOCHS:06d}.pt", newest)
        result = train(run_dir)
        assert result.returncode == 0, result.stderr
        expected = "fails its CRC check" if damage == "zeroed" else "belongs to another run"
        assert expected in result.stderr and f"resumed from epoch {EPOCHS - EVERY}" in result.stderr
        assert_identical(reference, run_dir)


def test_no_usable_state_is_an_error_naming_the_files_unless_a_restart_is_asked_for(reference, tmp_path):
    run_dir = tmp_path / "run"
    for path in _resumable_copy(reference, run_dir):
        path.write_bytes(b"garbage")
    result = train(run_dir)
    assert result.returncode == 2 and "no usable resume state among epoch_000024.pt, epoch_000020.pt" in result.stderr
    result = train(run_dir, "restart_if_no_state=true")
    assert result.returncode == 0 and "starting over as asked" in result.stderr
    assert_identical(reference, run_dir)


def test_without_flock_the_lock_falls_back_to_a_pid_file(tmp_path, monkeypatch):
    """Some NFS/Lustre mounts have no flock: the run folder is locked by an exclusively created
    train.pid naming pid and host; a live holder is refused, a dead one's file is taken over."""
    import errno
    import fcntl

    from pwm.run_dir import RunDirLockedError

    def no_flock(*_):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    run = RunDir(tmp_path / "run")
    held = run.lock()
    assert (run.root / "train.pid").read_text().startswith(f"pid {os.getpid()} on ")
    with pytest.raises(RunDirLockedError, match=f"in use by another trainer \\(pid {os.getpid()} on "):
        run.lock()
    held.close()
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    (run.root / "train.pid").write_text(f"pid {dead.pid} on {socket.gethostname()}\n")
    run.lock().close()  # the dead trainer's lock is taken over
    assert not (run.root / "train.pid").exists()


@pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter:UserWarning")  # meta copies are no-ops
def test_resume_state_restores_onto_a_non_cpu_device(reference):
    """The CUDA resume path without a GPU: the state loads as the loop loads it, then goes into
    an agent on torch's `meta` device. RNG states must stay CPU byte tensors (set_rng_state
    rejects anything else, the crash this guards against), module and Adam moment tensors must
    follow their parameters, and Adam's step counters stay on the CPU as torch keeps them."""
    from pwm.agent import Agent
    from pwm.checkpoint import load_newest_readable
    from pwm.config import compose_config

    state = load_newest_readable(reference / "state", "cpu", log=lambda _: None)
    torch.set_rng_state(state["torch_rng"])  # would raise TypeError for a state mapped onto the device
    meta = torch.device("meta")
    weights = torch.load(sorted((reference / "checkpoints").glob("*.pt"))[-1], weights_only=False)
    obs_dim, action_dim = weights["obs_dim"], weights["action_dim"]
    agent = Agent(compose_config("train", TINY), obs_dim, action_dim, meta)
    agent.load_state_dict(state["agent"])
    for opt in (agent.model_opt, agent.actor_opt, agent.critic_opt):
        for param, moments in opt.state.items():
            assert param.device == meta and moments["exp_avg"].device == meta
            assert moments["step"].device.type == "cpu"
    with pytest.raises(TypeError):  # the failure mode, shown to exist: a state mapped onto the device
        torch.set_rng_state(state["torch_rng"].to(meta))
