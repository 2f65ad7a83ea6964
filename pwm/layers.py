"""Network building blocks: NormedLinear, SimNorm and the one `mlp()` builder."""
import torch
from torch import nn
import torch.nn.functional as F

from pwm.math import symlog


class SimNorm(nn.Module):
    """Softmax over consecutive groups of `group` features: each group lies on a simplex."""

    def __init__(self, group: int):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.view(*shape[:-1], -1, self.group)
        return F.softmax(x, dim=-1).view(shape)


class SymLog(nn.Module):
    """sign(x) log(1 + |x|) per feature (DreamerV3's input squashing): large observation entries
    (joint velocities of a body thrown about by contacts) are compressed, small ones kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return symlog(x)


class Mish(nn.Module):
    """x * tanh(softplus(x)), composed from two elementwise kernels: on this CPU at one thread
    that is ~1.9x faster forward + backward than torch's own `mish` kernel (benchmarks/update_step.py),
    and equal to it within float rounding. Mish is a third of an update's time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(F.softplus(x))


class NormedLinear(nn.Sequential):
    """Linear -> LayerNorm -> activation (Mish unless given), TD-MPC2's hidden layer."""

    def __init__(self, in_dim: int, out_dim: int, act: nn.Module | None = None):
        super().__init__(nn.Linear(in_dim, out_dim), nn.LayerNorm(out_dim), act or Mish())


def mlp(in_dim: int, hidden: tuple[int, ...] | list[int], out_dim: int,
        out_act: nn.Module | None = None) -> nn.Sequential:
    """Hidden layers of NormedLinear.

    With `out_act` the last layer is NormedLinear(out_act) (e.g. SimNorm for latents);
    without it the last layer is a plain Linear (heads, velocity fields).
    """
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers.append(NormedLinear(a, b))
    layers.append(NormedLinear(dims[-1], out_dim, out_act) if out_act is not None
                  else nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero biases for every Linear."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def zero_last_linear(net: nn.Sequential) -> None:
    """Start a head at zero output (TD-MPC2's reward head)."""
    last = net[-1]
    assert isinstance(last, nn.Linear)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
