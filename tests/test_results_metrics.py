"""Reading metrics.parquet from its footer where the trainer's invariants allow it, binning the
learning curve, and the sweep plan with its analysis settings."""
import numpy as np
import pandas as pd
import pytest
import yaml

from pwm.results.files import metrics_path
from pwm.pipeline.sweep import Run, Variant
from pwm.results import metrics
from pwm.results.curves import bin_curve, long_table
from pwm.pipeline.plan import analysis_settings, load_config, planned_runs, validated
from pwm.pipeline.sweep import SweepConfigError
from workflow_helpers import REPO


def write_metrics(path, epochs, returns) -> None:
    epochs = np.asarray(epochs)
    pd.DataFrame({"epoch": epochs, "env_steps": epochs * 256, "wall_s": epochs * 1.5, "episode_return": returns,
                  "loss/actor": 0.1}).to_parquet(path, index=False)


def test_consecutive_epochs_are_read_from_the_footer_and_only_returns_decoded(tmp_path):
    path = tmp_path / "metrics.parquet"
    write_metrics(path, np.arange(1, 101), np.where(np.arange(100) % 10 == 9, np.arange(100.0), np.nan))
    m = metrics.read(path, pace=False)
    assert m.epoch.tolist() == list(range(1, 101)) and m.wall_s is None
    assert m.steps_per_epoch == 256 and m.wall_total == 150.0
    assert np.flatnonzero(np.isfinite(m.episode_return)).tolist() == list(range(9, 100, 10))
    assert metrics.read(path, pace=True).wall_s.tolist() == (np.arange(1, 101) * 1.5).tolist()


def test_epochs_with_a_gap_are_decoded(tmp_path):
    path = tmp_path / "metrics.parquet"
    write_metrics(path, [1, 2, 5], [1.0, 2.0, 5.0])
    assert metrics.read(path, pace=False).epoch.tolist() == [1, 2, 5]


def test_final_metrics_win_over_the_live_file(tmp_path):
    assert metrics_path(tmp_path) is None
    (tmp_path / "final").mkdir()
    for path in (tmp_path / "metrics.parquet", tmp_path / "final" / "metrics.parquet"):
        write_metrics(path, [1], [0.0])
    assert metrics_path(tmp_path) == tmp_path / "final" / "metrics.parquet"


def test_curves_bin_planned_epochs_and_carry_the_last_return_over_empty_slices():
    epochs = np.arange(1, 401)
    returns = np.where(epochs % 100 == 0, epochs / 100.0, np.nan)  # 1.0 at 100, 2.0 at 200, ...
    full = bin_curve(epochs, returns, 400, 400, 256)
    assert len(full.epoch) == 200 and full.epoch[:2].tolist() == [2, 4] and full.env_steps[0] == 512
    assert np.isnan(full.value[:49]).all() and full.value[49:99].tolist() == [1.0] * 50
    assert full.value[-1] == 4.0
    partial = bin_curve(epochs[:150], returns[:150], 150, 400, 256)  # a run still going
    assert len(partial.epoch) == 75 and partial.value[-1] == 1.0


def test_long_table_labels_every_slice_with_its_run():
    run = Run("cartpole-swingup", "5M", Variant("flow", "heun", 2), 3)
    table = long_table({run: bin_curve(np.arange(1, 5), np.array([1.0, 2.0, 3.0, 4.0]), 4, 4, 10)})
    assert table.values.tolist() == [["cartpole-swingup", "5M", "flow-heun-k2", 3, e, 10 * e, float(e)]
                                     for e in range(1, 5)]


def test_the_plan_has_every_run_of_the_sweep_with_its_budget():
    config = {"tasks": ["cartpole-swingup"], "sizes": ["1M", "5M"], "seeds": [1, 2],
              "dynamics": [{"kind": "mlp"}, {"kind": "flow", "integrator": "euler", "substeps": [2, 4]}],
              "budgets": {"1M": {"epochs": 150}, "5M": {"epochs": 300}}}
    plan = planned_runs(config)
    assert len(plan) == 1 * 2 * 3 * 2
    assert plan[Run("cartpole-swingup", "5M", Variant("flow", "euler", 4), 2)] == 300
    assert {epochs for run, epochs in plan.items() if run.size == "1M"} == {150}


def test_analysis_defaults_are_the_sweep_schemas_and_a_config_overrides_them():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    defaults = {key: spec["default"] for key, spec in schema["properties"]["analysis"]["properties"].items()}
    assert analysis_settings(None) == defaults
    assert analysis_settings(validated({"analysis": {"collapse_drop": 0.3}})) == {**defaults, "collapse_drop": 0.3}


def test_a_minimal_config_gets_the_schemas_defaults_and_plans_its_runs(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("tasks: [Hopper-v5]\n")
    config = load_config(path)
    assert config["seeds"] and config["budgets"]["1M"]["epochs"] > 0
    assert {run.task for run in planned_runs(config)} == {"Hopper-v5"}


@pytest.mark.parametrize("text, message", [
    ("tasks: [Hoper-v5]\n", "Hoper-v5"), ("sizes: [2M]\n", "2M"), ("seedz: [1]\n", "seedz"),
    ("[1, 2]\n", "mapping"), ("tasks: [a\n", "cannot read"),
])
def test_a_bad_config_is_one_line_naming_the_value(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(SweepConfigError, match=message) as err:
        load_config(path)
    assert "\n" not in str(err.value)
