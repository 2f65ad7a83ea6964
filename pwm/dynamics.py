"""Latent dynamics behind one interface: `next(z, a)` predicts, `loss(z, a, target)` trains.

`MLPDynamics` is TD-MPC2's: a NormedLinear MLP ending in SimNorm, trained by MSE between the
predicted and the target latent (consistency).

`FlowDynamics` is a velocity field v(z, a, tau) integrated from tau=0 (z_t) to tau=1
(z_{t+1}) with K Euler or Heun substeps. Its head is an unconstrained Linear: the target
velocity z_{t+1} - z_t sums to zero over each SimNorm group, which a SimNorm head could never
output.

Training signal (chosen so that the comparison with the MLP is fair): the flow's per-step loss
is the rectified-flow velocity loss *plus* the same consistency loss the MLP gets, on the
integrated latent:

    L = || v(z_tau, a, tau) - (target - z) ||^2  +  || integrate(z, a) - target ||^2,
    z_tau = (1 - tau) z + tau target,  tau ~ U[0, 1].

The source latent z is not detached, so, exactly as with the MLP, the dynamics loss trains the
encoder (at t = 0 z is the encoding of the first observation) and the earlier dynamics steps (at
t > 0 z is the rolled-out latent). The velocity term shapes a straight flow (cheap to integrate
with few substeps); the consistency term trains what the actor actually differentiates through:
the K-substep integrated latent, fed back into the next step of the rollout. Targets are the
stop-gradient encodings of the real next observations for both kinds (pwm.world_model).

Projection choice: with `project=True` the integrated latent is projected back onto the SimNorm
simplex (Euclidean projection per group). Linear interpolation between two simplex points stays
on the simplex, so the projection is the identity for an exact flow; for an imperfect one it
keeps the reward head and critics on the inputs they were trained on. It zeroes clipped
coordinates and their gradients, so it is an ablation setting (benchmarks/learning.py).
"""
import torch
from torch import nn
import torch.nn.functional as F

from pwm.layers import SimNorm, mlp
from pwm.math import project_to_simplex_groups


def _mse(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error [B, 1]."""
    return F.mse_loss(x, target, reduction="none").mean(-1, keepdim=True)


class MLPDynamics(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], latent_dim: int, simnorm_dim: int):
        super().__init__()
        self.net = mlp(in_dim, hidden, latent_dim, out_act=SimNorm(simnorm_dim))

    def next(self, z: torch.Tensor, a: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_cat(z, a, context))

    def loss(self, z, a, target, context=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (next latent, per-sample loss [B, 1])."""
        z_next = self.next(z, a, context)
        return z_next, _mse(z_next, target)


class FlowDynamics(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], latent_dim: int, simnorm_dim: int,
                 substeps: int, integrator: str, project: bool):
        super().__init__()
        self.velocity = mlp(in_dim + 1, hidden, latent_dim)  # +1: the flow time tau
        self.substeps, self.integrator, self.project = substeps, integrator, project
        self.simnorm_dim = simnorm_dim

    def velocity_at(self, z, a, tau, context=None) -> torch.Tensor:
        tau = torch.full_like(z[..., :1], tau) if not torch.is_tensor(tau) else tau
        return self.velocity(_cat(z, a, context, tau))

    def next(self, z: torch.Tensor, a: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        dt = 1.0 / self.substeps
        for k in range(self.substeps):
            tau = k * dt
            v = self.velocity_at(z, a, tau, context)
            if self.integrator == "heun":
                z_pred = z + dt * v
                v = 0.5 * (v + self.velocity_at(z_pred, a, tau + dt, context))
            z = z + dt * v
        return project_to_simplex_groups(z, self.simnorm_dim) if self.project else z

    def loss(self, z, a, target, context=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocity loss on the straight path z -> target plus consistency of the integrated
        latent (see the module docstring). Returns (integrated next latent, per-sample loss)."""
        tau = torch.rand_like(z[..., :1])
        z_tau = (1 - tau) * z + tau * target
        velocity_loss = _mse(self.velocity_at(z_tau, a, tau, context), target - z)
        z_next = self.next(z, a, context)
        return z_next, velocity_loss + _mse(z_next, target)


def _cat(*parts):
    return torch.cat([p for p in parts if p is not None], dim=-1)


def build_dynamics(cfg, in_dim: int, hidden: tuple[int, ...], latent_dim: int, simnorm_dim: int) -> nn.Module:
    if cfg.kind == "mlp":
        return MLPDynamics(in_dim, hidden, latent_dim, simnorm_dim)
    return FlowDynamics(in_dim, hidden, latent_dim, simnorm_dim, cfg.substeps, cfg.integrator, cfg.project)
