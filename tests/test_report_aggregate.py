"""Aggregation of run folders in every state into the documented tables."""
import numpy as np
import pandas as pd
import pytest

from pwm.report.aggregate import aggregate
from pwm.results.schemas import EVALUATIONS, LEADERBOARD, RUNS, STATUS, TRAINING
from workflow_helpers import SETTINGS, write_run

TASK, SIZE, EPOCHS = "cartpole-swingup", "1M", 40


def collapse_curve():
    """Rises to 1,000 by epoch 20, then falls to about 20: the example report's failure."""
    return np.concatenate([np.linspace(10, 1000, 20), np.linspace(900, 20, 20)])


@pytest.fixture
def mixed_sweep(tmp_path):
    """Runs that completed, collapsed, diverged, are running, stale, failed or never started."""
    final = {20: [50.0, 60.0]}
    records = [
        write_run(tmp_path, TASK, SIZE, "mlp", 1, returns=collapse_curve(), evals={**final, 40: [100.0, 110.0]}),
        write_run(tmp_path, TASK, SIZE, "mlp", 2, evals={**final, 40: [120.0, 130.0]}),
        write_run(tmp_path, TASK, SIZE, "mlp", 3, evals={**final, 40: [90.0, 95.0]}),
        write_run(tmp_path, TASK, SIZE, "flow-heun-k4", 1, evals={20: [700.0], 40: [500.0, 520.0]}),
        write_run(tmp_path, TASK, SIZE, "flow-heun-k4", 2, state="diverged", returns=np.arange(15.0)),
        write_run(tmp_path, TASK, SIZE, "flow-heun-k4", 3, state="running", returns=np.arange(30.0)),
        write_run(tmp_path, TASK, SIZE, "flow-euler-k8", 1, state="running", returns=np.arange(10.0),
                  updated_minutes_ago=120),
        write_run(tmp_path, TASK, SIZE, "flow-euler-k8", 2, state=None),
        write_run(tmp_path, TASK, SIZE, "flow-euler-k8", 3, state="failed", returns=np.arange(3.0)),
    ]
    outputs = {name: str(tmp_path / "metrics" / f"{name}.parquet")
               for name in ("training", "evaluations", "runs", "leaderboard", "status")}
    tables = aggregate(records, outputs, SETTINGS)
    return tables, outputs


def test_tables_are_written_with_the_documented_columns(mixed_sweep):
    tables, outputs = mixed_sweep
    for name, schema in [("evaluations", EVALUATIONS), ("runs", RUNS), ("leaderboard", LEADERBOARD),
                         ("status", STATUS)]:
        assert list(pd.read_parquet(outputs[name]).columns) == list(schema), name
    training = pd.read_parquet(outputs["training"])
    assert list(training.columns) == [*TRAINING, "loss/actor"]
    assert len(training) == 3 * 40 + 40 + 15 + 30 + 10 + 3  # every epoch logged by every run that started


def test_each_run_gets_its_outcome_from_final_or_live_status(mixed_sweep):
    runs = mixed_sweep[0]["runs"].set_index(["variant", "seed"])
    assert runs.loc[("mlp", 1), "outcome"] == "completed"
    assert runs.loc[("flow-heun-k4", 2), "outcome"] == "diverged"
    assert runs.loc[("flow-heun-k4", 2), "reason"] == "diverged on purpose"
    assert runs.loc[("flow-heun-k4", 3), "outcome"] == "running"
    assert runs.loc[("flow-euler-k8", 1), "outcome"] == "stale"
    assert runs.loc[("flow-euler-k8", 2), "outcome"] == "pending"
    assert runs.loc[("flow-euler-k8", 3), "outcome"] == "failed"


def test_collapse_is_flagged_and_diagnostics_are_computed(mixed_sweep):
    runs = mixed_sweep[0]["runs"].set_index(["variant", "seed"])
    collapsed = runs.loc[("mlp", 1)]
    assert collapsed["collapsed"]
    assert collapsed["peak_return"] == pytest.approx(1000.0) and collapsed["peak_epoch"] == 20
    assert collapsed["final10_return"] == pytest.approx(np.linspace(900, 20, 20)[-10:].mean())
    assert not runs.loc[("mlp", 2), "collapsed"]  # a rising curve
    assert runs.loc[("mlp", 1), "best_eval_return"] == pytest.approx(105.0)
    assert runs.loc[("flow-heun-k4", 1), "best_eval_epoch"] == 20  # best checkpoint is not the final one
    assert runs.loc[("flow-heun-k4", 1), "final_eval_return"] == pytest.approx(510.0)
    assert runs.loc[("mlp", 1), "params_world_model"] == 60 and runs.loc[("mlp", 1), "params_total"] == 72


def test_progress_and_eta_of_a_running_run(mixed_sweep):
    running = mixed_sweep[0]["runs"].set_index(["variant", "seed"]).loc[("flow-heun-k4", 3)]
    assert running["epoch"] == 30 and running["progress"] == pytest.approx(0.75)
    assert running["eta_s"] == pytest.approx(running["wall_s"] / 30 * 10)


def test_status_counts_every_planned_run_once(mixed_sweep):
    status = mixed_sweep[0]["status"].set_index("variant")
    assert (status["total"] == 3).all()
    assert status.loc["mlp", "completed"] == 3 and status.loc["mlp", "collapsed"] == 1
    euler = status.loc["flow-euler-k8"]
    assert (euler["stale"], euler["pending"], euler["failed"]) == (1, 1, 1)


def test_leaderboard_flags_single_seeds_and_gives_no_verdict_without_evidence(mixed_sweep):
    board = mixed_sweep[0]["leaderboard"].set_index("variant")
    assert board.loc["mlp", "verdict"] == "baseline" and board.loc["mlp", "n_seeds"] == 3
    assert board.loc["mlp", "eval_return"] == pytest.approx(np.mean([105.0, 125.0, 92.5]))
    heun = board.loc["flow-heun-k4"]
    assert heun["single_seed"] and heun["n_seeds"] == 1 and heun["n_runs"] == 3
    assert heun["verdict"] == "too few seeds" and heun["n_diverged"] == 1
    assert heun["rank"] == 1  # ranked by its one evaluated seed, flagged as such
    assert board.loc["flow-euler-k8", "n_seeds"] == 0 and pd.isna(board.loc["flow-euler-k8", "rank"])


def test_a_clearly_better_variant_ranks_first_with_verdict_better(tmp_path):
    records = []
    for seed, (base, flow) in enumerate([(100.0, 600.0), (120.0, 650.0), (90.0, 580.0), (110.0, 620.0)], start=1):
        records.append(write_run(tmp_path, TASK, SIZE, "mlp", seed, evals={40: [base]}))
        records.append(write_run(tmp_path, TASK, SIZE, "flow-heun-k2", seed, evals={40: [flow]}))
    outputs = {name: str(tmp_path / f"{name}.parquet")
               for name in ("training", "evaluations", "runs", "leaderboard", "status")}
    board = aggregate(records, outputs, SETTINGS)["leaderboard"]
    top = board.iloc[0]
    assert (top["variant"], top["rank"], top["verdict"]) == ("flow-heun-k2", 1, "better")
    assert top["delta_ci_low"] > 0
    assert top["delta_vs_mlp"] == pytest.approx(np.mean([600, 650, 580, 620]) - np.mean([100, 120, 90, 110]))


def test_an_evaluation_file_of_another_run_is_refused(tmp_path):
    record = write_run(tmp_path, TASK, SIZE, "mlp", 1, evals={40: [1.0]})
    other = write_run(tmp_path, TASK, SIZE, "mlp", 2, evals={40: [2.0]})
    record["evaluations"] = other["evaluations"]
    outputs = {name: str(tmp_path / f"{name}.parquet")
               for name in ("training", "evaluations", "runs", "leaderboard", "status")}
    with pytest.raises(ValueError, match="column seed holds \\[2\\], but the file belongs to the run with seed=1"):
        aggregate([record], outputs, SETTINGS)
