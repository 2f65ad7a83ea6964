"""The learner is faithful to PWM and fair between the dynamics kinds: the dynamics loss trains
the encoder with either kind, multi-step flow rollouts are trained, the log-std keeps a live
gradient at its floor, PWM's critic schedule and a budget-free lr schedule, terminations
modelled where tasks terminate, and staggered episode starts."""
import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu

import pwm.precision

from pwm.agent import Actor, Agent, decayed_lr
from pwm.buffer import ReplayBuffer
from pwm.config import compose_config, to_yaml, uses_termination
from pwm.dynamics import FlowDynamics
from pwm.evaluate import Policy
from pwm.math import lambda_returns
from pwm.trainer import Trainer, staggered_cuts
from pwm.world_model import WorldModel

OBS, ACT, H, B = 5, 1, 4, 32
KINDS = {"mlp": ["dynamics.kind=mlp"],
         "flow-euler": ["dynamics.kind=flow", "dynamics.integrator=euler", "dynamics.substeps=2"],
         "flow-heun": ["dynamics.kind=flow", "dynamics.integrator=heun", "dynamics.substeps=2"]}


def sequences(batch=B, horizon=H, terminated=None):
    return {"obs": torch.randn(batch, OBS), "next_obs": torch.randn(horizon, batch, OBS),
            "action": torch.rand(horizon, batch, ACT) * 2 - 1, "reward": torch.rand(horizon, batch, 1),
            "terminated": torch.zeros(horizon, batch, 1) if terminated is None else terminated}


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_dynamics_loss_trains_the_encoder_with_either_kind(kind):
    torch.manual_seed(0)
    wm = WorldModel(compose_config("train", KINDS[kind]), OBS, ACT)
    _, parts = wm.sequence_loss(sequences(), rho=0.99, coefs={"dynamics": 1.0, "reward": 0.0})
    parts["loss/dynamics"].backward()
    encoder_grad = torch.cat([p.grad.flatten() for p in wm.encoder.parameters()]).norm()
    assert encoder_grad > 1e-4, f"{kind}: the dynamics term sends no gradient into the encoder"


def test_multi_step_flow_rollout_fits_a_linear_system_over_the_whole_horizon():
    """Trained on sequences with the world model's per-step loss (rolled-out source latents), the
    K-substep integrated rollout tracks z' = A z + B a at every one of 6 imagined steps (a model
    that stands still scores ~1.0 here; errors compound, so the bound grows with the step)."""
    gen = torch.Generator().manual_seed(0)
    latent, horizon = 4, 6
    a_mat = torch.linalg.qr(torch.randn(latent, latent, generator=gen))[0] * 0.95  # a damped rotation
    b_mat = 0.5 * torch.randn(ACT, latent, generator=gen)

    def rollout_truth(z, actions):
        states = []
        for a in actions:
            z = z @ a_mat.T + a @ b_mat
            states.append(z)
        return torch.stack(states)

    torch.manual_seed(0)
    flow = FlowDynamics(latent + ACT, (64, 64), latent, 2, substeps=2, integrator="euler", project=False)
    opt = torch.optim.Adam(flow.parameters(), lr=3e-3)
    for _ in range(1000):
        z0 = torch.randn(128, latent, generator=gen)
        actions = torch.rand(horizon, 128, ACT, generator=gen) * 2 - 1
        targets = rollout_truth(z0, actions)
        z, loss = z0, 0.0
        for t in range(horizon):
            z, step = flow.loss(z, actions[t], targets[t])
            loss = loss + step.mean()
        opt.zero_grad()
        (loss / horizon).backward()
        opt.step()
    z0 = torch.randn(512, latent, generator=gen)
    actions = torch.rand(horizon, 512, ACT, generator=gen) * 2 - 1
    truth = rollout_truth(z0, actions)
    with torch.no_grad():
        z, errors = z0, []
        for t in range(horizon):
            z = flow.next(z, actions[t])
            errors.append(((z - truth[t]).norm(dim=-1) / truth[t].norm(dim=-1)).median().item())
    bounds = [0.05 * (t + 1) for t in range(horizon)]  # measured: 0.07 at step 1, 0.19 at step 6
    assert all(e < max(0.1, b) for e, b in zip(errors, bounds)), f"relative error per imagined step: {np.round(errors, 3)}"


def test_log_std_keeps_a_live_gradient_at_its_floor():
    actor = Actor(8, [16], ACT, log_std_init=-1.0, log_std_min=-1.5, log_std_max=0.5)
    with torch.no_grad():
        actor.log_std.fill_(-1.5)
    torch.manual_seed(0)
    spread = actor(torch.randn(256, 8)).std()  # a loss that rewards more exploration
    (-spread).backward()
    assert actor.log_std.grad.abs().item() > 0, "the gradient died at the floor"
    opt = torch.optim.SGD(actor.parameters(), lr=0.1)
    opt.step()
    actor.clamp_log_std_()
    assert actor.log_std.item() > -1.5  # it came back up off the floor
    with torch.no_grad():
        actor.log_std.fill_(-9.0)
    actor.clamp_log_std_()
    assert actor.log_std.item() == -1.5  # and the parameter is the effective value


def test_critics_get_pwm_s_schedule_of_iterations_times_minibatches():
    cfg = compose_config("train", ["agent.critic_iterations=8", "agent.critic_minibatches=4"])
    agent = Agent(cfg, OBS, ACT, torch.device("cpu"))
    steps = []
    agent.critic_opt.register_step_post_hook(lambda *_: steps.append(1))
    agent.update_critics(torch.softmax(torch.randn(H + 1, B, 128), -1), torch.randn(H, B, 1))
    assert len(steps) == 8 * 4


def test_learning_rates_do_not_depend_on_the_run_budget():
    short, long = (Agent(compose_config("train", [f"epochs={n}"]), OBS, ACT, torch.device("cpu")) for n in (100, 5000))
    for agent in (short, long):
        agent.set_learning_rates(100)
    assert short.learning_rates() == long.learning_rates()
    assert decayed_lr(5e-4, 1e-5, 0, 15000) == 5e-4
    assert decayed_lr(5e-4, 1e-5, 15000, 15000) == pytest.approx(1e-5) == decayed_lr(5e-4, 1e-5, 40000, 15000)


def flat_params(module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


@pytest.mark.parametrize("rate", [0.3, 0.0])
def test_checkpoints_hold_the_polyak_average_of_the_policy_or_with_rate_0_the_live_one(rate):
    """agent.policy_average_rate: the first actor update copies the live encoder and actor, each
    later one moves the average towards them by max(rate, 10 / (n + 10)) after n updates; a
    checkpoint's policy (what pwm-eval acts with) is that average. Rate 0: the live weights."""
    torch.manual_seed(0)
    cfg = compose_config("train", [f"agent.policy_average_rate={rate}", "agent.horizon=4", "agent.critic_iterations=1"])
    agent = Agent(cfg, OBS, ACT, torch.device("cpu"))
    expected = None
    for n in range(28):  # the fixed rate 0.3 takes over from 10 / (n + 10) after n = 23
        agent.update_world_model(sequences())
        agent.update_actor_critic(torch.randn(B, OBS))
        live = torch.cat([flat_params(agent.world_model.encoder), flat_params(agent.actor)])
        expected = live.clone() if expected is None else expected.lerp(live, max(rate, 10 / (n + 10)))
    weights = {"config": to_yaml(cfg), "epoch": 1, "env_steps": 1, "obs_dim": OBS, "action_dim": ACT,
               "world_model": agent.world_model.state_dict(), **agent.policy_weights()}
    policy = Policy(weights)
    acted = torch.cat([flat_params(policy.world_model.encoder), flat_params(policy.actor)])
    if rate:
        torch.testing.assert_close(acted, expected, rtol=0, atol=1e-6)
        assert not torch.allclose(acted, live), "the checkpoint holds the live policy, not the average"
    else:
        assert torch.equal(acted, live) and agent.policy_average is None


def test_termination_head_is_on_exactly_for_tasks_that_can_terminate():
    on = {t for t in ("Ant-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5", "HalfCheetah-v5", "cartpole-swingup",
                      "pendulum-swingup") if uses_termination(compose_config("train", [f"task={t}"]))}
    assert on == {"Ant-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5"}
    assert uses_termination(compose_config("train", ["task=cartpole-swingup", "model.termination=on"]))
    assert WorldModel(compose_config("train", []), OBS, ACT).termination_head is None


def test_lambda_returns_do_not_bootstrap_through_a_termination():
    rewards, values = torch.ones(3, 1, 1), torch.full((4, 1, 1), 10.0)
    continues = torch.tensor([1.0, 0.0, 1.0]).view(3, 1, 1)
    targets = lambda_returns(rewards, values, gamma=0.9, lam=0.5, continues=continues)
    assert targets[1].item() == 1.0  # the step into the termination: its reward and nothing after
    assert torch.equal(lambda_returns(rewards, values, 0.9, 0.5, torch.ones(3, 1, 1)),
                       lambda_returns(rewards, values, 0.9, 0.5))


def test_imagined_return_stops_at_a_predicted_termination():
    torch.manual_seed(0)
    cfg = compose_config("train", ["agent.horizon=5"])
    agent = Agent(cfg, OBS, ACT, torch.device("cpu"), termination=True)
    z0 = agent.world_model.encode(torch.randn(4, OBS))
    with torch.no_grad():  # the head predicts a termination everywhere
        agent.world_model.termination_head[-1].bias.fill_(30.0)
    _, rewards, continues, ret, _ = agent.imagine(z0)
    assert torch.allclose(continues, torch.zeros_like(continues), atol=1e-9)
    assert torch.allclose(ret, rewards[0], atol=1e-6)  # only the first reward counts
    with torch.no_grad():  # and predicts none: the plain discounted return plus the terminal value
        agent.world_model.termination_head[-1].bias.fill_(-30.0)
    latents, rewards, _, ret, _ = agent.imagine(z0)
    plain = sum(0.99 ** t * rewards[t] for t in range(5)) + 0.99 ** 5 * agent.critics(latents[-1]).min(0).values
    assert torch.allclose(ret, plain, atol=1e-5)


def test_buffer_keeps_terminations_apart_from_truncations_and_masks_what_follows_an_episode():
    buf = ReplayBuffer(2, 100, OBS, ACT)
    rng = np.random.default_rng(0)
    for t in range(6):  # env 0 falls at step 2; env 1 hits a time limit at step 3; obs tell env and step
        terminated, truncated = np.array([t == 2, False]), np.array([False, t == 3])
        obs = np.array([[t] * OBS, [100 + t] * OBS], np.float32)
        buf.add(obs, np.zeros((2, ACT)), np.zeros(2), obs + 1, terminated, truncated)
    assert buf.terminated[:, :6].tolist() == [[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    batch = buf.sample_sequences(256, 3, rng, "cpu")
    episode_end = {0: 2, 100: 3}  # last step of each env's first episode
    for b, first in enumerate(batch["obs"][:, 0].int().tolist()):
        env, start = first - first % 100, first % 100
        steps = range(start, start + 3)
        assert batch["terminated"][:, b, 0].tolist() == [float(env == 0 and s == 2) for s in steps]
        in_first = start <= episode_end[env]
        assert batch["valid"][:, b, 0].tolist() == [float(s <= episode_end[env] or not in_first) for s in steps]
    assert (batch["valid"][0] == 1).all() and (batch["valid"] == 0).any()
    assert (batch["terminated"] * batch["valid"]).sum() == batch["terminated"].sum()  # a fall is inside its window


def test_world_model_loss_ignores_the_steps_after_an_episode_ended():
    wm = WorldModel(compose_config("train", ["task=Hopper-v5"]), OBS, ACT, termination=True)
    batch = sequences(horizon=6)
    batch["valid"] = (torch.arange(6)[:, None, None] < torch.randint(1, 7, (1, B, 1))).float()
    loss, parts = wm.sequence_loss(batch, 0.9, {"dynamics": 1.0, "reward": 1.0, "termination": 1.0})
    after = batch["valid"] == 0
    changed = {**batch, "next_obs": torch.where(after, torch.randn_like(batch["next_obs"]), batch["next_obs"]),
               "action": torch.where(after, -batch["action"], batch["action"]),
               "reward": torch.where(after, batch["reward"] + 5, batch["reward"]),
               "terminated": torch.where(after, 1 - batch["terminated"], batch["terminated"])}
    assert torch.allclose(loss, wm.sequence_loss(changed, 0.9, {"dynamics": 1.0, "reward": 1.0, "termination": 1.0})[0])
    everything = {**changed, "valid": torch.ones_like(batch["valid"])}
    assert not torch.allclose(loss, wm.sequence_loss(everything, 0.9, {"dynamics": 1.0, "reward": 1.0, "termination": 1.0})[0])


def test_termination_head_learns_when_the_hopper_falls(tmp_path):
    cfg = compose_config("train", [f"run_dir={tmp_path}", "task=Hopper-v5", "env.num_envs=16", "agent.model_horizon=3",
                                   "agent.batch_size=128"])
    trainer = Trainer(cfg, log=lambda *_: None)
    for _ in range(15):
        trainer.collect()  # random actions: a random Hopper falls within a few dozen steps
    wm = trainer.agent.world_model
    assert trainer.buffer.terminated.sum() > 20
    for _ in range(200):
        trainer.agent.update_world_model(trainer.buffer.sample_sequences(128, 3, trainer.rng, "cpu"))
    n = min(trainer.buffer.count, trainer.buffer.cap)
    obs = torch.as_tensor(trainer.buffer.obs[:, :n].reshape(-1, trainer.obs_dim))
    action = torch.as_tensor(trainer.buffer.action[:, :n].reshape(-1, trainer.action_dim))
    fell = trainer.buffer.terminated[:, :n].reshape(-1) == 1
    with torch.no_grad():
        p_end = 1 - wm.continues(wm.next(wm.encode(obs), action)).squeeze(-1).numpy()
    # falls are rare (~1 transition in 20) and the head is young: ask for discrimination
    auc = mannwhitneyu(p_end[fell], p_end[~fell]).statistic / (fell.sum() * (~fell).sum())
    assert auc > 0.9 and p_end[fell].mean() > 5 * p_end[~fell].mean(), (auc, p_end[fell].mean(), p_end[~fell].mean())


def test_episodes_start_staggered_so_training_returns_come_every_few_epochs(tmp_path):
    assert staggered_cuts(4, 500).tolist() == [0, 125, 250, 375]
    cfg = compose_config("train", [f"run_dir={tmp_path}", "task=cartpole-balance", "env.num_envs=4",
                                   "env.steps_per_epoch=25", "agent.random_steps=1000000"])
    trainer = Trainer(cfg, log=lambda *_: None)
    ended_at = []
    for epoch in range(36):  # 900 agent steps per env, random actions
        trainer.epoch = epoch
        returns, lengths = trainer.collect()
        ended_at += [(epoch + 1) * 25] * len(returns)
        assert set(lengths) <= {500}  # cut first episodes are not reported as episodes
    assert ended_at == [500, 625, 750, 875]
    boundaries = np.flatnonzero(np.diff(trainer.buffer.episode[3, :900]))
    assert boundaries.tolist() == [374, 874]  # env 3: cut after 375 steps, then a full episode


def test_pwm_rollout_scheme_closes_returns_where_real_episodes_end():
    """agent.rollout_start=env: each imagined action is also taken in the real environments; a
    real termination closes that environment's return (no bootstrap) and restarts its latent from
    the new episode's first observation."""
    torch.manual_seed(0)
    agent = Agent(compose_config("train", ["agent.horizon=3"]), OBS, ACT, torch.device("cpu"))
    restart_obs = torch.randn(2, OBS)
    calls = []

    def env_step(actions):
        calls.append(actions)
        fell = np.array([len(calls) == 1, False])  # env 0 falls at the first step
        return restart_obs.numpy(), fell, np.array([False, False])

    z0 = agent.world_model.encode(torch.randn(2, OBS)).detach()
    latents, rewards, continues, ret, _ = agent.imagine(z0, env_step=env_step)
    assert len(calls) == 3 and calls[0].shape == (2, ACT)
    assert continues[:, :, 0].tolist() == [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    assert torch.equal(latents[1][0], agent.world_model.encode(restart_obs)[0])  # env 0 restarted
    g, v = 0.99, agent.critics(latents[-1]).min(0).values
    fell_env = rewards[0, 0] + rewards[1, 0] + g * rewards[2, 0] + g ** 2 * v[0]  # closed, then a new segment
    going_env = rewards[0, 1] + g * rewards[1, 1] + g ** 2 * rewards[2, 1] + g ** 3 * v[1]
    assert torch.allclose(ret[:, 0], torch.stack([fell_env[0], going_env[0]]), atol=1e-5)


def test_pwm_rollout_scheme_steps_the_environments_during_actor_updates(tmp_path):
    with pytest.raises(Exception, match="env.steps_per_epoch=8 must equal agent.horizon x agent.actor_updates_per_epoch = 32"):
        compose_config("train", ["agent.rollout_start=env", "agent.actor_updates_per_epoch=2"])
    cfg = compose_config("train", [f"run_dir={tmp_path}", "task=cartpole-swingup", "agent.rollout_start=env",
                                   "env.num_envs=2", "agent.horizon=4", "env.steps_per_epoch=8",
                                   "agent.actor_updates_per_epoch=2", "agent.random_steps=64", "agent.warmup_updates=1",
                                   "agent.model_horizon=3", "agent.batch_size=8", "agent.critic_iterations=1"])
    trainer = Trainer(cfg, log=lambda *_: None)
    for _ in range(3):
        trainer.train_epoch(0.0)
    assert trainer.buffer.count == 3 * 8  # the learning epoch's 8 steps came from the two 4-step rollouts


@pytest.mark.parametrize("precision, native, used", [("fp32", True, "fp32"), ("bf16", False, "bf16"),
                                                    ("auto", True, "bf16"), ("auto", False, "fp32")])
def test_precision_sets_the_dtype_of_the_updates_forward_passes_only(precision, native, used, monkeypatch):
    """bf16 (explicit, or auto on a device with native bfloat16): every Linear of both updates
    computes in bfloat16, while weights, gradients and Adam's moments stay fp32 and the losses
    stay finite; fp32 (explicit, or auto without native bfloat16) computes in fp32."""
    monkeypatch.setattr(pwm.precision, "native_bf16", lambda device_type: native)
    assert pwm.precision.resolved(precision, torch.device("cpu")) == used
    agent = Agent(compose_config("train", [f"agent.precision={precision}", "task=Hopper-v5", "agent.horizon=4"]),
                  OBS, ACT, torch.device("cpu"), termination=True)
    seen = set()
    for module in agent.modules().values():
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
    metrics = {**agent.update_world_model(sequences()), **agent.update_actor_critic(torch.randn(B, OBS))}
    assert seen == {torch.bfloat16 if used == "bf16" else torch.float32}
    assert all(torch.isfinite(v) for v in metrics.values())
    for opt in (agent.model_opt, agent.actor_opt, agent.critic_opt):
        for param, moments in opt.state.items():
            assert param.dtype == param.grad.dtype == moments["exp_avg"].dtype == torch.float32


def test_the_start_line_warns_of_an_explicit_bf16_without_native_support(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(pwm.precision, "native_bf16", lambda device_type: False)
    assert pwm.precision.describe("auto", cpu) == "updates compute in fp32 (agent.precision=auto)"
    assert "WARNING, this cpu has no native bfloat16" in pwm.precision.describe("bf16", cpu)
    monkeypatch.setattr(pwm.precision, "native_bf16", lambda device_type: True)
    assert pwm.precision.describe("bf16", cpu) == "updates compute in bf16 (agent.precision=bf16)"


def test_fused_adam_takes_the_same_steps_as_the_default_up_to_rounding():
    """agent.adam=fused: torch's fused kernel in every optimiser, and after a few updates of both
    kinds the weights equal the multi-tensor default's to float rounding (same math)."""
    weights = {}
    for impl in ("foreach", "fused"):
        torch.manual_seed(0)
        agent = Agent(compose_config("train", [f"agent.adam={impl}", "task=Hopper-v5", "agent.horizon=4",
                                               "agent.critic_iterations=1"]), OBS, ACT, torch.device("cpu"),
                      termination=True)
        assert all(opt.defaults["fused"] is (impl == "fused") for opt in (agent.model_opt, agent.actor_opt, agent.critic_opt))
        torch.manual_seed(1)
        for _ in range(3):
            agent.update_world_model(sequences())
            agent.update_actor_critic(torch.randn(B, OBS))
        weights[impl] = torch.cat([p.detach().flatten() for m in agent.modules().values() for p in m.parameters()])
    torch.testing.assert_close(weights["fused"], weights["foreach"], rtol=0, atol=1e-4)
