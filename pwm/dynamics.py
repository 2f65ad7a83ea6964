"""Latent dynamics behind one interface: `next(z, a)` predicts, `loss(z, a, target)` trains.

`MLPDynamics` is TD-MPC2's: a NormedLinear MLP ending in SimNorm, trained by MSE.
`FlowDynamics` is a velocity field v(z, a, tau) integrated from tau=0 (z_t) to tau=1
(z_{t+1}) with K Euler or Heun substeps and trained with the rectified-flow loss. Its head is
an unconstrained Linear: the target velocity z_{t+1} - z_t sums to zero over each SimNorm
group, which a SimNorm head could never output.

Projection choice: with `project=True` the integrated latent is projected back onto the
SimNorm simplex (negatives clipped, each group renormalised). Linear interpolation between
two simplex points stays on the simplex, so the projection is the identity for an exact
flow; for an imperfect one it keeps the reward head and critics on the inputs they were
trained on, and stops errors from drifting off the simplex over a long imagined rollout.
"""
import torch
from torch import nn
import torch.nn.functional as F

from pwm.layers import SimNorm, mlp
from pwm.math import project_to_simplex_groups


class MLPDynamics(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], latent_dim: int, simnorm_dim: int):
        super().__init__()
        self.net = mlp(in_dim, hidden, latent_dim, out_act=SimNorm(simnorm_dim))

    def next(self, z: torch.Tensor, a: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_cat(z, a, context))

    def loss(self, z, a, target, context=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (next latent, per-sample loss [B, 1])."""
        z_next = self.next(z, a, context)
        return z_next, F.mse_loss(z_next, target, reduction="none").mean(-1, keepdim=True)


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
        """Rectified flow: at a random tau on the straight path z -> target, regress the
        velocity onto (target - z). Also returns the integrated next latent for the rollout."""
        source = z.detach()  # the flow is fitted between fixed endpoints
        tau = torch.rand_like(z[..., :1])
        z_tau = (1 - tau) * source + tau * target
        v = self.velocity_at(z_tau, a, tau, context)
        per_sample = F.mse_loss(v, target - source, reduction="none").mean(-1, keepdim=True)
        return self.next(z, a, context), per_sample


def _cat(*parts):
    return torch.cat([p for p in parts if p is not None], dim=-1)


def build_dynamics(cfg, in_dim: int, hidden: tuple[int, ...], latent_dim: int, simnorm_dim: int) -> nn.Module:
    if cfg.kind == "mlp":
        return MLPDynamics(in_dim, hidden, latent_dim, simnorm_dim)
    return FlowDynamics(in_dim, hidden, latent_dim, simnorm_dim, cfg.substeps, cfg.integrator, cfg.project)
