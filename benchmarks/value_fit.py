"""Does the critic know what the policy's real episodes return? Loads a run's newest resume state
and plays the final checkpoint's deterministic policy on the evaluation seeds; at each real state
it reads the smallest critic's value of the encoder's latent (the critics the actor's imagined
return is bootstrapped with; in imagination they see rolled-out latents) beside the real
discounted return from that state on: the critics' own target (`pwm.math.lambda_returns`) at
lambda 1 over the real rewards, bootstrapped with the critic's value of the last observation
where the time limit cut the episode and not at all after a termination. Printed at the first
step of every episode, and at 16, 8, 4 and 1 steps before the end of the episodes that ended by
termination.

Why: PWM's critics learn only from imagined rollouts, so what they know of falls is what the
termination head predicts. A critic that values the state one step before a fall as highly as
the start has never seen that fall, and the actor has nothing that steers it away.

    python benchmarks/value_fit.py RUN_DIR [--episodes 10]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from inspect_policy import SEED_BASE, play
from model_fit import restored_trainer
from pwm.evaluate import load_policy, read_checkpoint
from pwm.math import lambda_returns
from pwm.trainer import Trainer

STEPS_BEFORE_END = (16, 8, 4, 1)


@torch.no_grad()
def episode_values(trainer: Trainer, episode: dict) -> tuple[np.ndarray, np.ndarray]:
    """(critic value, real return) [T] at each state an episode acted from."""
    agent = trainer.agent
    values = agent.critics(agent.world_model.encode(torch.as_tensor(episode["observations"]))).min(0).values.double()
    rewards = torch.as_tensor(episode["rewards"], dtype=torch.float64)[:, None, None]
    continues = torch.ones_like(rewards)
    continues[-1] = 0.0 if episode["terminated"] else 1.0
    returns = lambda_returns(rewards, values[:, None], trainer.cfg.agent.gamma, lam=1.0, continues=continues)
    return values[:-1, 0].numpy(), returns[:, 0, 0].numpy()


def value_fit(trainer: Trainer, checkpoint: Path, episodes: int) -> dict:
    """Mean value and real return at the first step, and at each of STEPS_BEFORE_END before a termination."""
    policy = load_policy(read_checkpoint(checkpoint))
    first, before = [], {k: [] for k in STEPS_BEFORE_END}
    lengths, terminated = [], 0
    for seed in range(SEED_BASE, SEED_BASE + episodes):
        episode = play(policy, seed)
        values, returns = episode_values(trainer, episode)
        first.append((values[0], returns[0]))
        lengths.append(len(values))
        if episode["terminated"]:
            terminated += 1
            for k in STEPS_BEFORE_END:
                if len(values) >= k:
                    before[k].append((values[-k], returns[-k]))
    mean = lambda pairs: tuple(np.mean(pairs, axis=0)) if pairs else (float("nan"),) * 2  # noqa: E731
    return {"first": mean(first), "before_end": {k: mean(v) for k, v in before.items()},
            "terminated": terminated, "episodes": episodes, "mean_length": float(np.mean(lengths))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=10, help="episodes of the final policy (default 10)")
    args = parser.parse_args()
    trainer, state = restored_trainer(args.run_dir)
    cfg = trainer.cfg
    fit = value_fit(trainer, args.run_dir / "final" / "checkpoint.pt", args.episodes)
    print(f"{cfg.task} {cfg.size} {cfg.dynamics.kind} seed {cfg.seed}, epoch {state['epoch']}: the critic's value "
          f"of real states against their real discounted return (gamma {cfg.agent.gamma}), final policy:")
    value, real = fit["first"]
    print(f"  first step of {fit['episodes']} episodes (mean length {fit['mean_length']:.0f}): "
          f"value {value:.1f}, real return {real:.1f}")
    if fit["terminated"]:
        label = f"  steps before the termination ({fit['terminated']} episodes):"
        print(label + "".join(f"{k:>9d}" for k in STEPS_BEFORE_END))
        for i, name in enumerate(("value", "real return")):
            print(f"{name:>{len(label)}s}" + "".join(f"{fit['before_end'][k][i]:9.1f}" for k in STEPS_BEFORE_END))
    else:
        print("  no episode ended by termination")


if __name__ == "__main__":
    main()
