"""benchmarks/records.py: a committed record stands in for a benchmark run only while the planned
configuration and the learner's code are the recorded ones."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pwm.config import compose_config, to_yaml
from pwm.precision import resolved
from workflow_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import learning  # noqa: E402
import records  # noqa: E402

HERE = resolved("auto", torch.device("cpu"))  # what the default agent.precision computes in on this machine
MEASURED = {"eval_return": 871.5, "eval_length": 500.0, "cpu_min": 30.0, "cpu_min_per_100k": 30.0, "precision": HERE}


def planned_job(tmp_path, overrides=()):
    args = argparse.Namespace(agent_steps=5120, tasks=["cartpole-swingup"], variants=["mlp"], seeds=[1],
                              variants_everywhere=True, out=tmp_path / "runs", label="default", overrides=list(overrides))
    (job,) = learning.plan(args)
    return job


def trained_config(job) -> str:
    return to_yaml(compose_config("train", [f"run_dir={job['run_dir']}", *job["overrides"]]))


def test_a_recorded_run_is_found_by_a_new_reader_and_rewritten_in_place(tmp_path):
    job = planned_job(tmp_path)
    store = records.Records("learning", tmp_path / "records")
    store.add(job, trained_config(job), 10, MEASURED)
    store.add(job, trained_config(job), 10, {**MEASURED, "eval_return": 880.0})
    again = records.Records("learning", tmp_path / "records")
    assert again.find(job, 10)["eval_return"] == 880.0
    assert len(again.path.read_text().splitlines()) == 1


def test_two_benchmark_processes_adding_at_once_keep_each_others_records(tmp_path):
    first, second = planned_job(tmp_path), {**planned_job(tmp_path), "seed": 2}
    readers = [records.Records("learning", tmp_path / "records") for _ in range(2)]  # both read an empty file
    readers[0].add(first, trained_config(first), 10, MEASURED)
    readers[1].add(second, trained_config(second), 10, MEASURED)
    again = records.Records("learning", tmp_path / "records")
    assert sorted(key[3] for key in again.by_key) == [1, 2]


def test_a_record_does_not_stand_in_for_another_configuration_episode_count_precision_or_learner(tmp_path, monkeypatch):
    job = planned_job(tmp_path)
    store = records.Records("learning", tmp_path / "records")
    store.add(job, trained_config(job), 10, MEASURED)
    assert store.find(job, 10) is not None
    assert store.find(planned_job(tmp_path, ["agent.horizon=5"]), 10) is None
    assert store.find(job, 20) is None
    other = {"fp32": "bf16", "bf16": "fp32"}[HERE]  # agent.precision=auto on a machine of the other kind
    store.add(job, trained_config(job), 10, {**MEASURED, "precision": other})
    assert store.find(job, 10) is None
    store.add(job, trained_config(job), 10, MEASURED)
    monkeypatch.setattr(records, "learner_fingerprint", lambda: "another learner")
    assert records.Records("learning", tmp_path / "records").find(job, 10) is None


def test_a_recorded_run_is_not_trained_again(tmp_path, monkeypatch):
    job = planned_job(tmp_path)
    store = records.Records("learning", tmp_path / "records")
    store.add(job, trained_config(job), 10, MEASURED)
    monkeypatch.setattr(learning, "run_training", lambda *_: pytest.fail("a recorded run was trained"))
    row = learning.finished_run(job, 10, store)
    assert row["source"] == "record" and row["eval_return"] == MEASURED["eval_return"]


@pytest.mark.parametrize("edit, same", [
    ("def f(x):\n    '''Other words.'''\n    # another comment\n    return x + 1\n", True),
    ("def f(x):\n    return x + 2\n", False),
])
def test_the_fingerprint_sees_code_and_not_docstrings_or_comments(edit, same):
    original = records._code_only("def f(x):\n    '''Why.'''\n    return x + 1  # a comment\n")
    assert (records._code_only(edit) == original) is same


def test_the_fingerprint_covers_the_task_wrappers_and_the_learner():
    assert len(records.learner_fingerprint()) == 16
    assert records.learner_fingerprint() == records.learner_fingerprint()
    files = records._imported_files(records.LEARNER_ENTRY_POINTS)
    assert {"trainer.py", "evaluate.py", "agent.py", "world_model.py", "dynamics.py"} <= {Path(f).name for f in files}


def test_the_fingerprint_does_not_depend_on_what_else_the_caller_imported():
    """This process has imported pwm.report (learning.py does, for its flow-against-MLP table);
    a process that imports only the records module must get the same fingerprint."""
    assert "pwm.report.stats" in sys.modules
    alone = subprocess.run([sys.executable, "-c", "import records; print(records.learner_fingerprint())"],
                           cwd=REPO / "benchmarks", capture_output=True, text=True, check=True).stdout.strip()
    assert records.learner_fingerprint() == alone


def test_the_table_says_whether_flow_is_inside_the_mlps_interval_or_above_it():
    df = learning.pd.DataFrame({
        "task": ["cartpole-swingup"] * 6 + ["Ant-v5"] * 2 + ["Hopper-v5"] * 2,
        "variant": ["mlp"] * 3 + ["flow-heun-k2"] * 3 + ["flow-heun-k2", "mlp"] * 2,
        "seed": [1, 2, 3] * 2 + [1, 1] * 2,
        "eval_return": [850.0, 860.0, 870.0, 900.0, 910.0, 920.0, 300.0, 400.0, 500.0, 400.0]})
    cartpole, ant, hopper = learning.flow_against_mlp(df).to_dict("records")
    assert cartpole["within_or_above"] and cartpole["verdict"] == "better"
    assert (cartpole["mlp_low"], cartpole["mlp_high"], cartpole["difference"]) == (850.0, 870.0, 50.0)
    assert (cartpole["diff_low"], cartpole["diff_high"]) == (30.0, 70.0)  # every flow seed minus every mlp seed
    assert not ant["within_or_above"] and ant["verdict"] == "too few seeds"  # one seed: against its return
    assert hopper["within_or_above"] and hopper["verdict"] == "too few seeds"
