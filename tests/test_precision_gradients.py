"""benchmarks/precision_gradients.py compares the two precisions on the same batch and noise."""
import sys

import torch

from cli_helpers import TINY
from pwm.config import compose_config
from pwm.trainer import Trainer
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import precision_gradients  # noqa: E402


def test_bf16_gradients_are_compared_on_the_same_batch_and_noise_as_fp32(tmp_path):
    trainer = Trainer(compose_config("train", [f"run_dir={tmp_path}", *TINY]), log=lambda *_: None)
    for _ in range(10):
        trainer.collect()
    obs = trainer.buffer.sample_obs(8, trainer.rng, "cpu")
    once, again = (precision_gradients.actor_gradient(trainer, obs, "fp32", noise_seed=3) for _ in range(2))
    assert torch.equal(once, again)  # the noise is fixed: only the precision differs between the two
    other_noise = precision_gradients.actor_gradient(trainer, obs, "fp32", noise_seed=4)
    assert not torch.equal(once, other_noise)
    measured = precision_gradients.measure(trainer, batches=2)
    for name, values in measured.items():
        cosine, ratio, _ = values.T
        assert values.shape == (2, 3) and (cosine > 0.9).all() and (cosine < 1).all(), (name, values)
        assert ((ratio > 0.8) & (ratio < 1.25)).all(), (name, values)
