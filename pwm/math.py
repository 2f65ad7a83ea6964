"""Pure tensor math: symlog transforms, two-hot encoding, lambda-returns, simplex projection."""
import torch
import torch.nn.functional as F


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


def two_hot(x: torch.Tensor, num_bins: int, vmin: float, vmax: float) -> torch.Tensor:
    """Encode scalars (shape [..., 1]) in symlog space as two-hot vectors over `num_bins`."""
    x = symlog(x).clamp(vmin, vmax).squeeze(-1)
    bin_size = (vmax - vmin) / (num_bins - 1)
    pos = (x - vmin) / bin_size
    low = pos.floor().clamp(0, num_bins - 1)
    high_weight = pos - low
    low_idx = low.long()
    high_idx = (low_idx + 1).clamp(max=num_bins - 1)
    out = torch.zeros(*x.shape, num_bins, device=x.device, dtype=x.dtype)
    out.scatter_add_(-1, low_idx.unsqueeze(-1), (1 - high_weight).unsqueeze(-1))
    out.scatter_add_(-1, high_idx.unsqueeze(-1), high_weight.unsqueeze(-1))
    return out


def two_hot_decode(logits: torch.Tensor, vmin: float, vmax: float) -> torch.Tensor:
    """Expected value of softmax(logits) over the bins, mapped back with symexp; shape [..., 1]."""
    bins = torch.linspace(vmin, vmax, logits.shape[-1], device=logits.device, dtype=logits.dtype)
    return symexp((F.softmax(logits, dim=-1) * bins).sum(-1, keepdim=True))


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, num_bins: int,
                       vmin: float, vmax: float) -> torch.Tensor:
    """Cross-entropy between logits and the two-hot encoding of scalar targets; shape [..., 1]."""
    return -(two_hot(target, num_bins, vmin, vmax) * F.log_softmax(logits, dim=-1)).sum(-1, keepdim=True)


def lambda_returns(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float,
                   continues: torch.Tensor | None = None) -> torch.Tensor:
    """TD(lambda) targets. rewards [H, B, 1], values [H+1, B, 1] -> targets [H, B, 1].
    `continues` [H, B, 1] is the probability that the episode goes on after step t (1 - predicted
    termination of the next state); a target never bootstraps through a termination."""
    horizon = rewards.shape[0]
    targets = torch.empty_like(rewards)
    next_return = values[-1]
    for t in reversed(range(horizon)):
        discount = gamma if continues is None else gamma * continues[t]
        next_return = rewards[t] + discount * ((1 - lam) * values[t + 1] + lam * next_return)
        targets[t] = next_return
    return targets


def project_to_simplex_groups(z: torch.Tensor, group: int) -> torch.Tensor:
    """Euclidean projection of each group of `group` features onto the probability simplex
    (sort-based, Duchi et al. 2008). Identity on points already on the SimNorm simplex, so a
    perfect flow is unchanged."""
    shape = z.shape
    y = z.reshape(*shape[:-1], -1, group)
    u, _ = y.sort(dim=-1, descending=True)
    cumulative = u.cumsum(-1) - 1.0
    ranks = torch.arange(1, group + 1, device=z.device, dtype=z.dtype)
    support = (u - cumulative / ranks) > 0
    last = support.to(z.dtype).cumsum(-1).argmax(-1, keepdim=True)  # largest index still in the support
    theta = cumulative.gather(-1, last) / (last + 1).to(z.dtype)
    return (y - theta).clamp(min=0).view(shape)
