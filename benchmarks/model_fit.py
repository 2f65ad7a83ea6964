"""Does the world model predict what the actor differentiates through? Loads a run's newest resume
state (world model + replay buffer) and rolls the world model open loop along real sequences of
its own buffer, with the actions that were taken: for each imagined step, the fraction of the
real reward's variance the predicted reward explains (R2; 1 is perfect, 0 no better than the
mean) and the latent's squared distance from the encoding of the real observation.

Why: the actor's gradient runs through these predictions for `agent.horizon` steps; a model that
fits one step but not the next few gives the actor a return to climb that the task does not pay.
Measured this way (1M MLP, seed 1, the previous default: no symlog, world-model batch 64),
cartpole-swingup explains 0.99 of the reward at every step of 16, Hopper-v5 0.98 falling to 0.84,
walker-walk at 50k agent steps 0.45 at the first step and nothing from the third; with the
current default walker explains 0.86 at step 1 at 30k (config/README.md, "walker-walk").

    python benchmarks/model_fit.py RUN_DIR [--sequences 1024]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from pwm import checkpoint
from pwm.config import from_yaml_text
from pwm.run_dir import RunDir
from pwm.trainer import Trainer


def explained_variance(predicted: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> float:
    """1 - masked squared error / masked variance of `real`."""
    mean = (real * mask).sum() / mask.sum()
    return float(1 - ((predicted - real) ** 2 * mask).sum() / ((real - mean) ** 2 * mask).sum())


def rollout_fit(trainer: Trainer, sequences: int, horizon: int, seed: int = 0) -> list[dict]:
    """Per imagined step: reward R2 and latent error along real buffer sequences."""
    batch = trainer.buffer.sample_sequences(sequences, horizon, np.random.default_rng(seed), trainer.device)
    model, rows = trainer.agent.world_model, []
    with torch.no_grad():
        z, targets = model.encode(batch["obs"]), model.encode(batch["next_obs"])
        for t in range(horizon):
            action, valid = batch["action"][t], batch["valid"][t]
            reward_r2 = explained_variance(model.reward(z, action), batch["reward"][t], valid)
            z = model.next(z, action)
            latent_error = float((((z - targets[t]) ** 2).sum(-1, keepdim=True) * valid).sum() / valid.sum())
            rows.append({"step": t + 1, "reward_r2": reward_r2, "latent_error": latent_error})
    return rows


def restored_trainer(run_dir: Path) -> tuple[Trainer, dict]:
    """A trainer restored from `run_dir`'s newest resume state (at one torch thread), and that state."""
    torch.set_num_threads(1)
    run = RunDir(run_dir)
    state = checkpoint.load_newest_readable(run.state, "cpu", log=lambda *_: None)
    trainer = Trainer(from_yaml_text(run.config.read_text()), log=lambda *_: None)
    trainer.restore(state)
    return trainer, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--sequences", type=int, default=1024, help="real sequences rolled out (default 1024)")
    args = parser.parse_args()
    trainer, state = restored_trainer(args.run_dir)
    cfg = trainer.cfg
    print(f"{cfg.task} {cfg.size} {cfg.dynamics.kind} seed {cfg.seed}, epoch {state['epoch']}:")
    for row in rollout_fit(trainer, args.sequences, cfg.agent.horizon):
        print(f"  step {row['step']:2d}  reward R2 {row['reward_r2']:5.2f}  latent error {row['latent_error']:.4f}")


if __name__ == "__main__":
    main()
