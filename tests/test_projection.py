"""A sweep's projected cost from its preflights' timed epochs, and a warning for every train job
whose SLURM runtime cannot cover a run over all its attempts."""
import json
import math

from pwm.results.projection import PREFLIGHT, covered_minutes, projection, summary
from pwm.pipeline.sweep import Budget, Sweep, Variant
from pwm.config import compose_config
from pwm.trainer import preflight

SWEEP = Sweep(("Ant-v5",), ("5M", "48M"), (Variant("mlp"), Variant("flow", "heun", 2)), (1, 2, 3),
              {"5M": Budget(20000, 1000, {}), "48M": Budget(20000, 1000, {})})
RESOURCES = {"train": {"runtime": {"5M": 600, "48M": 600}, "gpu": {"5M": 0, "48M": 1}}}


def write_preflight(root, size, variant, seconds_per_epoch):
    path = root / PREFLIGHT.format(task="Ant-v5", size=size, variant=variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seconds_per_epoch": seconds_per_epoch}))


def test_projection_sums_hours_by_device_and_flags_runs_the_runtime_cannot_cover(tmp_path):
    write_preflight(tmp_path, "5M", "mlp", 0.9)  # 5 h per run: covered by 10 h + 20 h + 30 h
    write_preflight(tmp_path, "48M", "mlp", 1.8)  # 10 h on a GPU
    write_preflight(tmp_path, "48M", "flow-heun-k2", 12.0)  # 66.7 h: more than 60 h over 3 attempts
    table = projection(SWEEP, RESOURCES, retries=2, root=tmp_path)
    assert covered_minutes(600, 2) == 600 * 6
    row = table.set_index(["size", "variant"]).loc[("48M", "flow-heun-k2")]
    assert math.isclose(row.hours_per_run, 12.0 * 20000 / 3600) and not row.covered and row.gpu
    assert math.isnan(table.set_index(["size", "variant"]).loc[("5M", "flow-heun-k2")].seconds_per_epoch)
    lines = summary(table, retries=2)
    assert lines[0].startswith("projected cost (3 of 4 configurations timed by their preflight): 9 runs, 15.0 CPU-job hours")
    assert [l for l in lines if l.startswith("WARNING")] == [
        "WARNING: train Ant-v5/48M/flow-heun-k2 is projected at 66.7 h per run, more than its runtime of 600 min "
        "covers over 3 attempts (60.0 h): raise resources.train.runtime.48M or retries"]
    assert summary(projection(SWEEP, RESOURCES, retries=2, root=tmp_path / "none"), 2) == []


def test_preflight_times_real_learning_epochs(tmp_path):
    cfg = compose_config("preflight", ["task=cartpole-swingup", "env.num_envs=2", "agent.batch_size=8",
                                       "agent.actor_batch_size=8", "agent.model_horizon=3", "agent.critic_iterations=1",
                                       "timed_epochs=2", "epochs=360"])
    result = preflight(cfg)
    assert result["seconds_per_epoch"] > 0 and result["device"] == "cpu"
    assert math.isclose(result["projected_hours"], result["seconds_per_epoch"] * 360 / 3600)
