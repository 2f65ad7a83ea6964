"""Multi-task: padding and action masks, TD-MPC2's chunk format (read from files written here
with TensorDict exactly as TD-MPC2 lays them out), data from a real single-task run's buffer,
and the offline world model -> per-task policy -> real-environment evaluation chain."""
import json
import os
import signal

import numpy as np
import pandas as pd
import pytest
import torch
from tensordict import TensorDict

from cli_helpers import TINY, run_cli
from pwm import checkpoint
from pwm.buffer import ReplayBuffer
from pwm.config import ConfigError, compose_config, to_yaml
from pwm.evaluate import MultiTaskPolicy
from pwm.loop import EXIT_INTERRUPTED
from pwm.multitask.data import DatasetError, MultiTaskData, read_chunk
from pwm.multitask.pretrain import Pretrainer, build_world_model
from pwm.multitask.sources import episodes_from_run
from pwm.multitask.tasks import MT30, TASK_IDS, TaskSet
from pwm.run_dir import RunDir

# cartpole: obs 5, action 1; reacher: obs 6, action 2 (pwm-domain.md section 6)
TASKS = ["cartpole-swingup", "reacher-easy"]


def tdmpc2_chunk(path, task_ids, episodes=3, steps=20, obs_dim=6, action_dim=2, seed=0):
    """A chunk file as TD-MPC2 writes it: TensorDict [E, L+1]; action/reward NaN at t = 0.
    obs[e, t] = 1000 e + t in every column, action = t, reward = t / 10 (alignment checks)."""
    e = len(task_ids) * episodes
    t = torch.arange(steps + 1, dtype=torch.float32)
    obs = (1000 * torch.arange(e)[:, None] + t)[..., None].expand(e, steps + 1, obs_dim).clone()
    action = t[None, :, None].expand(e, steps + 1, action_dim).clone()
    reward = (t / 10)[None].expand(e, steps + 1).clone()
    action[:, 0], reward[:, 0] = float("nan"), float("nan")
    task = torch.tensor(np.repeat(task_ids, episodes))[:, None].expand(e, steps + 1).clone()
    torch.save(TensorDict({"obs": obs, "action": action, "reward": reward, "task": task}, batch_size=[e, steps + 1]), path)


@pytest.fixture(scope="module")
def task_set():
    return TaskSet.of(TASKS)


def test_task_set_pads_to_the_widest_task_and_masks_the_padding(task_set):
    assert (task_set.obs_dim, task_set.action_dim) == (6, 2)
    assert task_set.action_mask("cartpole-swingup").tolist() == [1.0, 0.0]
    assert task_set.action_mask("reacher-easy").tolist() == [1.0, 1.0]
    assert task_set.pad_obs(np.ones((4, 5), np.float32)).shape == (4, 6)
    assert TASK_IDS[:30] == MT30 and MT30.index("cartpole-swingup") == 10


def test_a_task_with_fewer_action_dims_ignores_the_padded_ones(task_set):
    """The actor outputs 0 on the padded dimension, its gradient there is 0, and the evaluated
    policy hands the environment only the task's own action dimensions."""
    from pwm.agent import Actor
    cfg = compose_config("pretrain", ["tasks=[cartpole-swingup,reacher-easy]", "data=[unused]", "task_dim=8"])
    wm = build_world_model(cfg, task_set)
    actor = Actor.from_config(cfg.model, wm.latent_dim, 2, task_set.action_mask("cartpole-swingup"))
    task = torch.zeros(32, dtype=torch.long)
    z = wm.encode(torch.randn(32, 6), task)
    action = actor(z)
    assert (action[:, 1] == 0).all() and (action[:, 0] != 0).any()
    (wm.next(z, action, task) * torch.randn(32, wm.latent_dim)).sum().backward()
    last = actor.mean[-1]
    assert last.weight.grad[1].abs().sum() == 0 and last.weight.grad[0].abs().sum() > 0
    assert wm.task_emb.weight[0].norm() <= 1 + 1e-5  # max_norm 1: a looked-up row is renormalised
    policy_cfg = compose_config("task_policy", ["task=cartpole-swingup", "world_model=x", "data=[x]"])
    weights = {"kind": "multitask-policy", "epoch": 0, "task_set": task_set.to_dict(),
               "config": to_yaml(policy_cfg), "world_model_config": to_yaml(cfg),
               "world_model": wm.state_dict(), "actor": actor.state_dict()}
    act = MultiTaskPolicy(weights)(np.zeros((3, 5), np.float32))
    assert act.shape == (3, 1)


def test_reader_takes_tdmpc2_chunks_and_aligns_actions_and_rewards(tmp_path, task_set):
    ids = [MT30.index("cartpole-swingup"), MT30.index("reacher-easy"), MT30.index("walker-walk")]
    tdmpc2_chunk(tmp_path / "chunk_0.pt", ids)
    chunk = read_chunk(tmp_path / "chunk_0.pt")
    assert chunk.obs.shape == (9, 21, 6) and np.isnan(chunk.action[:, 0]).all()
    data = MultiTaskData.load([tmp_path], task_set)  # walker-walk is in the file, not in the set: skipped
    assert [data.episodes(t) for t in TASKS] == [3, 3]
    batch = data.sample_sequences(64, 4, np.random.default_rng(0), "cpu")
    assert batch["obs"].shape == (64, 6) and batch["next_obs"].shape == (4, 64, 6)
    assert batch["action"].shape == (4, 64, 2) and batch["reward"].shape == (4, 64, 1)
    assert set(batch["task"].tolist()) == {0, 1}
    step = batch["obs"][:, 0] % 1000  # obs index t within its episode
    for k in range(4):
        # TD-MPC2's layout: the k-th action and reward after obs t are stored at t + 1 + k
        assert torch.equal(batch["next_obs"][k, :, 0] % 1000, step + 1 + k)
        assert torch.equal(batch["action"][k, :, 0], step + 1 + k)
        assert torch.allclose(batch["reward"][k, :, 0], (step + 1 + k) / 10)


def test_a_task_absent_from_the_data_is_a_clear_error(tmp_path, task_set):
    tdmpc2_chunk(tmp_path / "chunk_0.pt", [MT30.index("cartpole-swingup"), MT30.index("walker-walk")])
    with pytest.raises(DatasetError, match=r"\['reacher-easy'\].*the data holds: \['cartpole-swingup', 'walker-walk'\]"):
        MultiTaskData.load([tmp_path], task_set)


def test_episodes_of_one_task_must_share_a_length(tmp_path, task_set):
    tdmpc2_chunk(tmp_path / "a.pt", [10, 4], steps=20)
    tdmpc2_chunk(tmp_path / "b.pt", [10], steps=30)
    with pytest.raises(DatasetError, match="cartpole-swingup have different lengths"):
        MultiTaskData.load([tmp_path], task_set)


def test_config_rejects_unknown_tasks_before_any_work():
    with pytest.raises(ConfigError, match="tasks='cheetah-jump' is not allowed"):
        compose_config("pretrain", ["tasks=[cartpole-swingup,cheetah-jump]", "data=[x]"])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real single-task run long enough for two complete 500-step episodes per env (no updates,
    no staggered first episodes)."""
    run_dir = tmp_path_factory.mktemp("run") / "run"
    result = run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "env.steps_per_epoch=50", "agent.random_steps=100000",
                                   "env.stagger=false",
                                   "epochs=21", "checkpoint_every=21"])
    assert result.returncode == 0, result.stderr
    return run_dir


def test_a_finished_runs_buffer_becomes_fixed_length_episodes(finished_run):
    episodes = episodes_from_run(finished_run)
    state = checkpoint.load_newest_readable(RunDir(finished_run).state)
    buf = ReplayBuffer.from_chunks(finished_run / "buffer", state["buffer"], 4000).arrays()
    assert len(episodes) == 2 * 2 and episodes.obs.shape[1] == 501  # 1050 steps per env: 2 full episodes
    assert (episodes.task == MT30.index("cartpole-swingup")).all()
    np.testing.assert_array_equal(episodes.obs[0, 0], buf["obs"][0, 0])
    np.testing.assert_array_equal(episodes.obs[0, 1:], buf["next_obs"][0, :500])
    np.testing.assert_array_equal(episodes.action[0, 1:], buf["action"][0, :500])
    np.testing.assert_array_equal(episodes.obs[1, 1:], buf["next_obs"][0, 500:1000])  # env 0's second episode
    np.testing.assert_array_equal(episodes.reward[2, 1:], buf["reward"][1, :500])  # env 1's first


def test_the_whole_chain_from_cli_resumes_bit_identically_and_evaluates(finished_run, tmp_path):
    """Run export -> random collection -> world model (interrupted and resumed) -> policy -> eval."""
    data = tmp_path / "data"
    assert run_cli("pwm-mt-data", [f"out={data}/cartpole.pt", f"run_dir={finished_run}"]).returncode == 0
    assert run_cli("pwm-mt-data", [f"out={data}/reacher.pt", "task=reacher-easy", "episodes=2"]).returncode == 0
    wm_args = ["tasks=[cartpole-swingup,reacher-easy]", f"data=[{data}]", "checkpoint_every=2",
               "updates_per_epoch=2", "agent.batch_size=16", "task_dim=8"]
    whole = run_cli("pwm-mt-world-model", [f"run_dir={tmp_path}/wm", *wm_args, "epochs=4"])
    assert whole.returncode == 0, whole.stderr
    class SignalledAtEpoch2(Pretrainer):
        def train_epoch(self, started):
            row = super().train_epoch(started)
            if self.epoch == 2:
                os.kill(os.getpid(), signal.SIGUSR1)  # what SLURM's pre-timeout signal does
            return row

    def pretrainer(cls):
        return cls(compose_config("pretrain", [f"run_dir={tmp_path}/wm2", *wm_args, "epochs=4"]), log=lambda *_: None)

    (tmp_path / "wm2").mkdir()
    assert pretrainer(SignalledAtEpoch2).run(RunDir(tmp_path / "wm2")) == EXIT_INTERRUPTED
    assert pretrainer(Pretrainer).run(RunDir(tmp_path / "wm2")) == 0
    assert json.loads((tmp_path / "wm2/status.json").read_text())["resumed_from"] == 2
    a, b = (checkpoint.load(p / "final/checkpoint.pt") for p in (tmp_path / "wm", tmp_path / "wm2"))
    for k in a["world_model"]:
        assert torch.equal(a["world_model"][k], b["world_model"][k]), k

    policy = run_cli("pwm-mt-policy", [f"run_dir={tmp_path}/pol", f"world_model={tmp_path}/wm/final/checkpoint.pt",
                                       "task=reacher-easy", f"data=[{data}]", "epochs=2", "checkpoint_every=1",
                                       "agent.actor_batch_size=8", "agent.horizon=4"])
    assert policy.returncode == 0, policy.stderr
    out = tmp_path / "eval.parquet"
    ev = run_cli("pwm-eval", [f"checkpoint={tmp_path}/pol/final/checkpoint.pt", "episodes=2", f"out={out}"])
    assert ev.returncode == 0, ev.stderr
    df = pd.read_parquet(out)
    assert df[["task", "size", "variant", "checkpoint_epoch"]].drop_duplicates().values.tolist() == [["reacher-easy", "1M", "mlp", 2]]
    assert (df["length"] == 500).all()

    # The world model stays frozen under the policy, unless finetune=true.
    tuned = run_cli("pwm-mt-policy", [f"run_dir={tmp_path}/tuned", f"world_model={tmp_path}/wm/final/checkpoint.pt",
                                      "task=reacher-easy", f"data=[{data}]", "epochs=1", "finetune=true",
                                      "agent.actor_batch_size=8", "agent.horizon=4", "agent.batch_size=16",
                                      "agent.model_updates_per_epoch=2"])
    assert tuned.returncode == 0, tuned.stderr
    pretrained = a["world_model"]
    frozen = checkpoint.load(tmp_path / "pol/final/checkpoint.pt")["world_model"]
    finetuned = checkpoint.load(tmp_path / "tuned/final/checkpoint.pt")["world_model"]
    # (the embedding's max_norm renormalises looked-up rows in place: the same function)
    renormed = lambda w: w / w.norm(dim=-1, keepdim=True).clamp(min=1)  # noqa: E731
    assert torch.allclose(renormed(pretrained["task_emb.weight"]), renormed(frozen["task_emb.weight"]))
    assert all(torch.equal(pretrained[k], frozen[k]) for k in pretrained if k != "task_emb.weight")
    assert not all(torch.equal(pretrained[k], finetuned[k]) for k in pretrained if k != "task_emb.weight")
