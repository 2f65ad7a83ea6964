"""Does bf16 autocast bend the gradients PWM learns from? Loads a run's newest resume state
(world model, actor, critics, replay buffer) and computes, on the same batches and the same
sampled noise, in fp32 and under bf16 autocast (`agent.precision`):

- the actor's gradient of the imagined return (the term of its loss that runs back through
  `agent.horizon` steps of the world model; the entropy term does not touch the model), and
- the world model's gradient of its sequence loss,

and prints the cosine between the two precisions' gradients and the ratio of their norms,
next to the cosine between the fp32 gradients of two independent batches: the minibatch noise
every update already carries. Precision matters to learning only where its disagreement is
not small against that noise.

    python benchmarks/precision_gradients.py RUN_DIR [--batches 8]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from model_fit import restored_trainer
from pwm.agent import world_model_coefs
from pwm.precision import autocast
from pwm.trainer import Trainer


def flat_grad(loss: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])


def actor_gradient(trainer: Trainer, obs: torch.Tensor, precision: str, noise_seed: int) -> torch.Tensor:
    """Gradient of the mean imagined return with respect to the actor's parameters."""
    agent, device = trainer.agent, trainer.device
    torch.manual_seed(noise_seed)  # the same action noise in both precisions
    with autocast(precision, device):
        with torch.no_grad():
            z0 = agent.world_model.encode(obs)
        returns = agent.imagine(z0)[3].float()
    return flat_grad(-returns.mean(), list(agent.actor.parameters()))


def model_gradient(trainer: Trainer, batch: dict, precision: str) -> torch.Tensor:
    """Gradient of the world model's sequence loss with respect to its parameters."""
    a, model = trainer.cfg.agent, trainer.agent.world_model
    with autocast(precision, trainer.device):
        loss, _ = model.sequence_loss(batch, a.rho, world_model_coefs(a))
    return flat_grad(loss, [p for p in model.parameters() if p.requires_grad])


def agreement(one: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    """(cosine, norm of `other` / norm of `one`)."""
    return float(torch.nn.functional.cosine_similarity(one, other, dim=0)), float(other.norm() / one.norm())


def measure(trainer: Trainer, batches: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per gradient ("actor", "world model") and batch: (cosine bf16 vs fp32, norm ratio, cosine
    of the fp32 gradients of two independent batches)."""
    a, rng = trainer.cfg.agent, np.random.default_rng(seed)
    rows = {"actor": [], "world model": []}
    for i in range(batches):
        obs, other_obs = (trainer.buffer.sample_obs(a.actor_batch_size, rng, trainer.device) for _ in range(2))
        fp32 = actor_gradient(trainer, obs, "fp32", i)
        rows["actor"].append((*agreement(fp32, actor_gradient(trainer, obs, "bf16", i)),
                              agreement(fp32, actor_gradient(trainer, other_obs, "fp32", i))[0]))
        batch, other = (trainer.buffer.sample_sequences(a.batch_size, a.model_horizon, rng, trainer.device)
                        for _ in range(2))
        fp32 = model_gradient(trainer, batch, "fp32")
        rows["world model"].append((*agreement(fp32, model_gradient(trainer, batch, "bf16")),
                                    agreement(fp32, model_gradient(trainer, other, "fp32"))[0]))
    return {name: np.array(values) for name, values in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--batches", type=int, default=8, help="batches averaged over (default 8)")
    args = parser.parse_args()
    trainer, state = restored_trainer(args.run_dir)
    cfg = trainer.cfg
    print(f"{cfg.task} {cfg.size} {cfg.dynamics.kind} seed {cfg.seed}, epoch {state['epoch']}, "
          f"{args.batches} batches (mean, min):")
    for name, values in measure(trainer, args.batches).items():
        cos, ratio, noise = values.T
        print(f"  {name:11s}  cosine bf16 vs fp32 {cos.mean():.3f} ({cos.min():.3f})  norm ratio {ratio.mean():.3f}  "
              f"| cosine of two fp32 batches {noise.mean():.3f} ({noise.min():.3f})")


if __name__ == "__main__":
    main()
