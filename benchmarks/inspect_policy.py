"""Why did an evaluation score what it did? Replays a checkpoint's deterministic policy on the
evaluation seeds benchmarks/learning.py uses and prints, per episode, the return, the first and
last observation and the mean |action| over the last agent steps: a pendulum that never swings up
shows its last observation at rest away from upright with |action| 1, a cartpole that balances
off centre shows the cart's position in its last observation (dm_control's first entry).

    python benchmarks/inspect_policy.py RUN/final/checkpoint.pt [--episodes 10] [--tail 200]
"""
import argparse

import numpy as np
import torch

from pwm.envs import make_env
from pwm.evaluate import Policy

SEED_BASE = 10**6  # benchmarks/learning.py's evaluation seeds


def replay(policy: Policy, seed: int, tail: int) -> dict:
    env = make_env(policy.task, seed=seed, action_repeat=policy.action_repeat)
    first, _ = env.reset(seed=seed)
    obs, total, actions, done = first, 0.0, [], False
    while not done:
        action = policy(obs[None].astype(np.float32))[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done = total + reward, terminated or truncated
        actions.append(np.abs(action).mean())
    return {"seed": seed, "return": total, "steps": len(actions), "first": first, "last": obs,
            "tail_abs_action": float(np.mean(actions[-tail:]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--tail", type=int, default=200, help="agent steps at the end over which |action| is averaged")
    args = parser.parse_args()
    policy = Policy(torch.load(args.checkpoint, map_location="cpu", weights_only=False))
    np.set_printoptions(precision=2, suppress=True, linewidth=200)
    print(f"{policy.task}, {args.checkpoint}: deterministic policy, seeds {SEED_BASE}+")
    for i in range(args.episodes):
        r = replay(policy, SEED_BASE + i, args.tail)
        print(f"episode {i}: return {r['return']:8.1f} in {r['steps']} steps, mean |action| over the last "
              f"{args.tail}: {r['tail_abs_action']:.2f}\n  first obs {r['first'][:6]}\n  last obs  {r['last'][:6]}")


if __name__ == "__main__":
    main()
