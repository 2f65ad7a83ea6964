"""World-model size presets with TD-MPC2's widths.

The preset name is TD-MPC2's total parameter count (including its Q-ensemble and policy
head, which PWM does not use); the real count of a PWM run is recorded per component.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class SizePreset:
    encoder_dims: tuple[int, ...]
    mlp_dim: int
    latent_dim: int
    reference_total: float  # TD-MPC2's published total parameter count


SIZES: dict[str, SizePreset] = {
    "1M": SizePreset((256,), 384, 128, 1.44e6),
    "5M": SizePreset((256,), 512, 512, 5.39e6),
    "19M": SizePreset((1024, 1024), 1024, 768, 18.97e6),
    "48M": SizePreset((1792, 1792, 1792), 1792, 768, 48.79e6),
    "317M": SizePreset((4096, 4096, 4096, 4096), 4096, 1376, 317.38e6),
}
