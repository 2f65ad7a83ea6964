"""Optional TensorBoard tracking: what pwm-train writes is read back with TensorBoard's own reader
and matches metrics.parquet, epoch by epoch."""
import pandas as pd
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cli_helpers import TINY, run_cli


def test_tensorboard_scalars_match_the_metrics(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "epochs=6", "checkpoint_every=3", "tracking=tensorboard"])
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    assert {"loss/world_model", "cpu_s", "env_steps"} <= set(events.Tags()["scalars"])
    logged = events.Scalars("loss/world_model")
    learning = metrics.dropna(subset=["loss/world_model"])
    assert [e.step for e in logged] == learning.epoch.tolist()
    assert [e.value for e in logged] == [float(v) for v in learning["loss/world_model"].astype("float32")]


def test_tracking_is_off_by_default_and_a_bad_value_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "epochs=1"]).returncode == 0
    assert not (run_dir / "tensorboard").exists()
    refused = run_cli("pwm-train", [f"run_dir={tmp_path / 'other'}", *TINY, "tracking=wandb"])
    assert refused.returncode == 2 and "tracking='wandb' is not allowed; choose one of: none, tensorboard" in refused.stderr
