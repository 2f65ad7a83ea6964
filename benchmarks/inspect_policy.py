"""Why did an evaluation score what it did? Replays a checkpoint's deterministic policy on the
evaluation seeds benchmarks/learning.py uses and prints, per episode, the return, the first and
last observation and the mean |action| over the last agent steps: a pendulum that never swings up
shows its last observation at rest away from upright with |action| 1, a cartpole that balances
off centre shows the cart's position in its last observation (dm_control's first entry). Also
each action dimension's standard deviation over the episode (a policy that ignores the state
holds a near-constant posture: walker-walk at 50k agent steps) and, for a world model with a
termination head, its predicted probability that each real step ended the episode, before the
last 10 steps and over them (does the model see a fall coming?).

    python benchmarks/inspect_policy.py RUN/final/checkpoint.pt [--episodes 10] [--tail 200]
"""
import argparse

import numpy as np
import torch

from pwm.envs import make_env
from pwm.evaluate import Policy
from pwm.world_model import WorldModel

SEED_BASE = 10**6  # benchmarks/learning.py's evaluation seeds


def play(policy: Policy, seed: int) -> dict:
    """One evaluation episode of the deterministic policy: observations [T+1, D], actions [T, A], rewards [T]."""
    env = make_env(policy.task, seed=seed, action_repeat=policy.action_repeat)
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, terminated, truncated = [obs], [], [], False, False
    while not (terminated or truncated):
        actions.append(policy(obs[None].astype(np.float32))[0])
        obs, reward, terminated, truncated, _ = env.step(actions[-1])
        observations.append(obs)
        rewards.append(reward)
    return {"observations": np.array(observations, np.float32), "actions": np.array(actions, np.float32),
            "rewards": np.array(rewards), "return": float(np.sum(rewards)), "terminated": terminated}


def replay(policy: Policy, model: WorldModel, seed: int, tail: int) -> dict:
    """One evaluation episode; `model` is the checkpoint's trained world model (its own encoder)."""
    episode = play(policy, seed)
    observations, actions = episode["observations"], episode["actions"]
    terminations = np.array([])
    if model.termination_head is not None:
        with torch.no_grad():
            z_next = model.next(model.encode(torch.as_tensor(observations[:-1])), torch.as_tensor(actions))
            terminations = (1 - model.continues(z_next)).squeeze(-1).numpy()
    return {"seed": seed, "return": episode["return"], "steps": len(actions), "first": observations[0],
            "last": observations[-1], "tail_abs_action": float(np.abs(actions[-tail:]).mean()),
            "action_std": actions.std(0), "terminations": terminations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--tail", type=int, default=200, help="agent steps at the end over which |action| is averaged")
    args = parser.parse_args()
    weights = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    policy = Policy(weights)
    model = WorldModel(policy.cfg, weights["obs_dim"], weights["action_dim"],
                       termination=policy.world_model.termination_head is not None)
    model.load_state_dict(weights["world_model"])
    np.set_printoptions(precision=4, suppress=True, linewidth=200)
    print(f"{policy.task}, {args.checkpoint}: deterministic policy, seeds {SEED_BASE}+")
    for i in range(args.episodes):
        r = replay(policy, model, SEED_BASE + i, args.tail)
        print(f"episode {i}: return {r['return']:8.1f} in {r['steps']} steps, mean |action| over the last "
              f"{args.tail}: {r['tail_abs_action']:.2f}\n  first obs {r['first'][:6]}\n  last obs  {r['last'][:6]}"
              f"\n  action std over the episode {r['action_std']}")
        p = r["terminations"]
        if len(p):
            print(f"  predicted termination: mean {p[:-10].mean() if len(p) > 10 else float('nan'):.4f} before the "
                  f"last 10 steps, last 10 {p[-10:]}")


if __name__ == "__main__":
    main()
