"""Does the termination head see the terminations coming? Loads a run's newest resume state and
rolls its world model open loop along real sequences with the actions that were taken, as the
world model's loss does, then reads the predicted P(terminate) of each rolled-out latent: at the
steps where the episode really ended, and at every other step of an episode. Beside it, the head's
P on the encoder's latent of each real next observation: where that one sees a termination the
rolled-out latent misses, the dynamics did not predict the state; where neither does, the head
does not know it.

It does so twice: on sequences of the run's own replay buffer (the data the head was trained on,
collected with exploration noise), and on the last `agent.horizon` steps of episodes that the
final checkpoint's deterministic policy plays (the states the evaluation visits). Why: the actor
treats a predicted termination as the end of its imagined return; a head that misses the
terminations the policy runs into leaves it nothing to avoid them by.

    python benchmarks/termination_fit.py RUN_DIR [--sequences 4096] [--episodes 10]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from inspect_policy import SEED_BASE, play
from model_fit import restored_trainer
from pwm.evaluate import load_policy, read_checkpoint
from pwm.trainer import Trainer


@torch.no_grad()
def rolled_out_termination(trainer: Trainer, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """P(terminate) [L, B] of each latent rolled out from obs [B, D] along actions [L, B, A]."""
    model, z, probabilities = trainer.agent.world_model, trainer.agent.world_model.encode(obs), []
    for action in actions:
        z = model.next(z, action)
        probabilities.append(1 - model.continues(z).squeeze(-1))
    return torch.stack(probabilities)


@torch.no_grad()
def encoded_termination(trainer: Trainer, next_obs: torch.Tensor) -> torch.Tensor:
    """P(terminate) [L, B] of the encoder's latent of each real next observation [L, B, D]."""
    model = trainer.agent.world_model
    return 1 - model.continues(model.encode(next_obs)).squeeze(-1)


def summary(probability: torch.Tensor, terminated: torch.Tensor, valid: torch.Tensor) -> dict:
    """Mean P at terminal and at other steps, and the fractions above one half (caught, false alarms)."""
    end, other = terminated & valid, ~terminated & valid
    return {"terminal_steps": int(end.sum()), "p_terminal": float(probability[end].mean()) if end.any() else float("nan"),
            "caught": float((probability[end] > 0.5).float().mean()) if end.any() else float("nan"),
            "p_other": float(probability[other].mean()), "false_alarms": float((probability[other] > 0.5).float().mean())}


def buffer_fit(trainer: Trainer, sequences: int, seed: int = 0) -> dict:
    batch = trainer.buffer.sample_sequences(sequences, trainer.cfg.agent.horizon, np.random.default_rng(seed), "cpu")
    terminated, valid = batch["terminated"].squeeze(-1).bool(), batch["valid"].squeeze(-1).bool()
    return {"rolled out": summary(rolled_out_termination(trainer, batch["obs"], batch["action"]), terminated, valid),
            "encoded": summary(encoded_termination(trainer, batch["next_obs"]), terminated, valid)}


def policy_fit(trainer: Trainer, checkpoint: Path, episodes: int) -> dict:
    """The final policy's own episodes: each one's last `horizon` steps rolled out from the state before them."""
    policy, horizon = load_policy(read_checkpoint(checkpoint)), trainer.cfg.agent.horizon
    rows, lengths = [], []
    for seed in range(SEED_BASE, SEED_BASE + episodes):
        episode = play(policy, seed)
        start = max(0, len(episode["actions"]) - horizon)
        tail = torch.as_tensor(episode["actions"][start:])[:, None]
        observations = torch.as_tensor(episode["observations"][start:])
        rolled = rolled_out_termination(trainer, observations[:1], tail)[:, 0]
        encoded = encoded_termination(trainer, observations[1:, None])[:, 0]
        ended = torch.zeros(len(tail), dtype=torch.bool)
        ended[-1] = episode["terminated"]
        rows.append((rolled, encoded, ended))
        lengths.append(len(episode["actions"]))
    rolled, encoded, ended = (torch.cat(x) for x in zip(*rows))
    every = torch.ones_like(ended)
    return {"rolled out": summary(rolled, ended, every), "encoded": summary(encoded, ended, every),
            "mean_length": float(np.mean(lengths))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--sequences", type=int, default=4096, help="buffer sequences rolled out (default 4096)")
    parser.add_argument("--episodes", type=int, default=10, help="episodes of the final policy (default 10)")
    args = parser.parse_args()
    trainer, state = restored_trainer(args.run_dir)
    cfg = trainer.cfg
    if trainer.agent.world_model.termination_head is None:
        raise SystemExit(f"{args.run_dir}: this run has no termination head (model.termination={cfg.model.termination}, task {cfg.task})")
    print(f"{cfg.task} {cfg.size} {cfg.dynamics.kind} seed {cfg.seed}, epoch {state['epoch']}; P(terminate) of "
          "rolled-out latents and of the encodings of the real next observations:")
    for name, fits in (("replay buffer", buffer_fit(trainer, args.sequences)),
                       ("final policy", policy_fit(trainer, args.run_dir / "final" / "checkpoint.pt", args.episodes))):
        extra = f", episodes of {fits['mean_length']:.0f} steps" if "mean_length" in fits else ""
        for latent in ("rolled out", "encoded"):
            fit = fits[latent]
            print(f"  {name:13s} {latent:10s}: {fit['terminal_steps']} terminal steps{extra}: P {fit['p_terminal']:.3f}, "
                  f"caught (P > 0.5) {fit['caught']:.0%}; other steps: P {fit['p_other']:.4f}, "
                  f"false alarms {fit['false_alarms']:.2%}")


if __name__ == "__main__":
    main()
