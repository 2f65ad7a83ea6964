"""Per-epoch training metrics kept where they are computed (CPU or GPU) and read once per epoch:
an update returns 0-dim tensors, never Python floats, so that a GPU update never waits for the
host. Every `loss/*` value is also checked for finiteness, at the one read."""
import torch


class DivergenceError(RuntimeError):
    def __init__(self, what: str):
        super().__init__(f"non-finite {what}")
        self.what = what


class EpochMetrics:
    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1

    def read(self) -> dict[str, float]:
        """Means over the epoch, with one host synchronisation. Raises DivergenceError naming the
        first non-finite loss."""
        if not self.sums:
            return {}
        names = sorted(self.sums)
        means = torch.stack([self.sums[n] / self.counts[n] for n in names]).tolist()
        row = dict(zip(names, means))
        for name in names:
            if name.startswith("loss/") and not torch.isfinite(torch.tensor(row[name])):
                raise DivergenceError(name)
        return row


def check_finite(name: str, value: torch.Tensor) -> None:
    """Immediate check (one synchronisation), for the rare places outside the update loop."""
    if not torch.isfinite(value).all():
        raise DivergenceError(name)
