"""Our world-model widths must be TD-MPC2's: rebuilt with TD-MPC2's extra heads (its Q-functions,
shaped like the reward head, a policy head) on its multi-task dims, the total must land near
the published count of each preset."""
import pytest

from pwm.config import compose_config
from pwm.layers import count_params, mlp
from pwm.presets import SIZES
from pwm.world_model import WorldModel

# TD-MPC2's multi-task (MT80) setting behind the published counts.
OBS, ACT, TASKS, TASK_DIM = 39, 6, 80, 96
NUM_Q = {"1M": 2, "5M": 5, "19M": 5, "48M": 5, "317M": 8}  # TD-MPC2's Q-ensemble per size


@pytest.mark.parametrize("size", list(SIZES))
def test_preset_counts_match_tdmpc2(size):
    cfg = compose_config("train", [f"size={size}"])
    wm = WorldModel(cfg, OBS, ACT, num_tasks=TASKS, task_dim=TASK_DIM)
    counts = wm.param_counts()
    preset = SIZES[size]
    hidden = (preset.mlp_dim, preset.mlp_dim)
    za = preset.latent_dim + ACT + TASK_DIM
    q_heads = NUM_Q[size] * counts["reward"]
    policy = count_params(mlp(preset.latent_dim + TASK_DIM, hidden, 2 * ACT))
    total = sum(counts.values()) + q_heads + policy
    assert counts["reward"] == count_params(mlp(za, hidden, cfg.model.num_bins))
    assert total == pytest.approx(preset.reference_total, rel=0.01), f"{size}: {total / 1e6:.2f}M"


def test_counts_are_recorded_per_component():
    cfg = compose_config("train", ["size=5M"])
    counts = WorldModel(cfg, 5, 1).param_counts()
    assert set(counts) == {"encoder", "dynamics", "reward"}
    assert all(v > 0 for v in counts.values())
