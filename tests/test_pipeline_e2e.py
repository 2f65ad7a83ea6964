"""The whole pipeline on a tiny sweep (tests/configs/tiny.yaml), for real: preflight, train,
evaluate, aggregate, report; and a pipeline killed during training that resumes on rerun."""
import base64
import json
import os
import re
import signal
import subprocess
import time

import pandas as pd
import pytest
import yaml

from pwm.results.schemas import TABLES
from browser import CHROMIUM, MISSING, open_page
from workflow_helpers import REPO, SNAKEFILE, SNAKEMAKE, TOOL_ENV, snakemake

TINY = REPO / "tests" / "configs" / "tiny.yaml"
TINY_MULTITASK = REPO / "tests" / "configs" / "tiny_multitask.yaml"
PROFILE = REPO / "profiles" / "default"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    run = snakemake("--configfile", TINY, TINY_MULTITASK, cwd=workdir, profile=PROFILE, timeout=1200)
    report = snakemake("--configfile", TINY, TINY_MULTITASK, "--report", "report.html", cwd=workdir, timeout=300)
    return workdir, run, report


def test_tiny_sweep_runs_end_to_end(tiny_run):
    workdir, run, _ = tiny_run
    assert run.returncode == 0, run.stdout[-5000:]
    for name, columns in TABLES.items():
        table = pd.read_parquet(workdir / "results" / "metrics" / f"{name}.parquet")
        assert list(table.columns[:len(columns)]) == list(columns), name
    runs = pd.read_parquet(workdir / "results" / "metrics" / "runs.parquet")
    assert sorted(runs.variant.unique()) == ["flow-euler-k2", "mlp"] and len(runs) == 4
    assert (runs.outcome == "completed").all() and (runs.evaluated_checkpoints == 2).all()
    evaluations = pd.read_parquet(workdir / "results" / "metrics" / "evaluations.parquet")
    assert len(evaluations) == 4 * 2 * 2  # runs x checkpoints (epochs 2 and 4) x episodes
    board = pd.read_parquet(workdir / "results" / "metrics" / "leaderboard.parquet").set_index("variant")
    assert board.loc["mlp", "verdict"] == "baseline" and (board.n_seeds == 2).all()
    assert board.loc["flow-euler-k2", "verdict"] == "too few seeds"  # 2 seeds a side: a range, no verdict
    figures = workdir / "results" / "report" / "cartpole-swingup"
    for figure in ("learning_curves", "evaluation_curves"):
        assert (figures / f"{figure}.svg").stat().st_size > 0
    for one_point in ("substeps", "size_scaling"):  # one K and one size: nothing to draw a line through
        assert not (figures / f"{one_point}.svg").exists()


def test_multitask_sweep_runs_in_the_same_dag(tiny_run):
    """One world model over {cartpole-swingup, pendulum-swingup}: cartpole's data from the four
    single-task runs' buffers, pendulum's from random episodes; a policy per task, evaluated."""
    workdir, run, report = tiny_run
    assert run.returncode == 0, run.stdout[-5000:]
    data = workdir / "results" / "multitask" / "data"
    assert sorted(p.name for p in (data / "cartpole-swingup").iterdir()) == [
        "1M-flow-euler-k2-seed1.pt", "1M-flow-euler-k2-seed2.pt", "1M-mlp-seed1.pt", "1M-mlp-seed2.pt"]
    assert (data / "pendulum-swingup" / "random.pt").exists()
    rows = pd.read_parquet(workdir / "results" / "metrics" / "multitask.parquet")
    assert sorted(rows.task) == ["cartpole-swingup", "pendulum-swingup"]
    assert (rows.outcome == "completed").all() and rows.final_eval_return.notna().all()
    assert rows.set_index("task").single_task_return.notna().tolist() == [True, False]
    summary = pd.read_parquet(workdir / "results" / "metrics" / "multitask_summary.parquet")
    assert summary[["task_set", "tasks", "n_seeds"]].values.tolist() == [["pair", 2, 1]]
    assert summary.score.iloc[0] == pytest.approx((rows.final_eval_return / 1000).mean())
    evaluations = list((workdir / "results" / "evaluations" / "multitask").rglob("*.parquet"))
    assert len(evaluations) == 2 * 2  # tasks x policy checkpoints (epochs 1 and 2)
    html = (workdir / "report.html").read_text()
    page = base64.b64decode(re.search(r"multitask\.html;base64,([A-Za-z0-9+/=]+)", html).group(1)).decode()
    assert "pair" in page and "pendulum-swingup" in page and "single-task score" in page
    assert (workdir / "results" / "report" / "multitask.svg").stat().st_size > 0 and "per-task returns" in html


def test_report_leads_with_the_status_page_and_its_leaderboard(tiny_run):
    workdir, _, report = tiny_run
    assert report.returncode == 0, report.stdout[-3000:]
    html = (workdir / "report.html").read_text()
    embedded = re.search(r"status\.html;base64,([A-Za-z0-9+/=]+)", html)
    status = base64.b64decode(embedded.group(1)).decode()
    assert '<h2 id="leaderboard">Leaderboard</h2>' in status and "range of 2 seeds" in status
    assert re.search(r"flow-euler-k2 vs mlp at 1M on cartpole-swingup: [-+][\d.,]+ \[[-\d.,]+, [-\d.,]+\] "
                     r"\(range of 2 seeds; 2 vs 2 seeds\) — no verdict \(too few seeds\)\.", status)
    # evaluation.clips: each configuration's best and worst seed, seen acting
    assert status.count('<img src="data:image/gif;base64,') == 2 * 2 and '<h2 id="policies">Policies</h2>' in status
    chosen = json.loads((workdir / "results/report/clips/cartpole-swingup/1M/mlp/clips.json").read_text())
    assert {chosen["best"]["seed"], chosen["worst"]["seed"]} == {1, 2}
    assert chosen["best"]["eval_return"] >= chosen["worst"]["eval_return"]
    for label in ("learning curves", "evaluation curves", "status and leaderboard"):
        assert label in html
    assert "return vs substeps" not in html and "return vs size" not in html


@pytest.mark.skipif(CHROMIUM is None, reason=MISSING)
def test_the_snakemake_reports_landing_page_renders_in_headless_chromium(tiny_run, tmp_path):
    """Snakemake's report is a page of scripts: opened in a browser it shows the workflow
    description, the report's categories and the status page's caption."""
    workdir, _, report = tiny_run
    assert report.returncode == 0, report.stdout[-3000:]
    dom, screenshot = open_page(workdir / "report.html", tmp_path, "snakemake-report.png", height=1200)
    text = re.sub(r"<[^>]+>", " ", dom)
    for shown in ("PWM sweep", "Overview", "Figures", "status and leaderboard"):
        assert shown in text, shown
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")


def one_run_config(tmp_path):
    """tiny.yaml cut to one run of 12 epochs with checkpoints every 4: time to kill it mid-way."""
    config = yaml.safe_load(TINY.read_text())
    config.update(dynamics=[{"kind": "mlp"}], seeds=[1])
    config["budgets"]["1M"].update(epochs=12, checkpoint_every=4)
    path = tmp_path / "one_run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for_checkpoint(run_dir, epoch, process, timeout=600):
    """Until status.json, which pwm-train writes after a checkpoint's other files, reports `epoch`."""
    deadline = time.monotonic() + timeout
    status = run_dir / "status.json"
    while not (status.exists() and json.loads(status.read_text())["epoch"] >= epoch):
        assert process.poll() is None, "the pipeline ended before the kill"
        assert time.monotonic() < deadline, f"no checkpoint at epoch {epoch} in {run_dir}"
        time.sleep(0.2)


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_a_killed_pipeline_resumes_training_on_rerun(tmp_path, kill):
    config = one_run_config(tmp_path)
    run_dir = tmp_path / "results" / "runs" / "cartpole-swingup" / "1M" / "mlp" / "seed1"
    cmd = [SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--workflow-profile", str(PROFILE), "--configfile", str(config)]
    pipeline = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=TOOL_ENV, start_new_session=True)
    try:
        wait_for_checkpoint(run_dir, 4, pipeline)
        os.killpg(pipeline.pid, kill)  # the whole process group: Snakemake and the trainer
        pipeline.wait(timeout=300)
    finally:
        if pipeline.poll() is None:
            os.killpg(pipeline.pid, signal.SIGKILL)
            pipeline.wait()
    assert not (run_dir / "final" / "status.json").exists()
    stopped = json.loads((run_dir / "status.json").read_text())
    assert stopped["state"] == ("running" if kill == signal.SIGKILL else "interrupted")

    if kill == signal.SIGKILL:  # a hard kill leaves Snakemake's lock behind
        assert snakemake("--unlock", "--configfile", config, cwd=tmp_path).returncode == 0

    # A status report of the unfinished sweep starts no training and shows the run as it stands.
    status = snakemake("--configfile", config, "--config", "report_scope=finished", cwd=tmp_path,
                       profile=PROFILE, timeout=600)
    assert status.returncode == 0, status.stdout[-5000:]
    assert "rule train:" not in status.stdout
    runs = pd.read_parquet(tmp_path / "results" / "metrics" / "runs.parquet")
    # a SIGKILLed trainer's status.json still says running; its process is gone from this host
    reported = "stale" if kill == signal.SIGKILL else "interrupted"
    assert runs.outcome.tolist() == [reported] and runs.epoch.tolist() == [stopped["epoch"]]
    assert not (run_dir / "final" / "status.json").exists()

    rerun = snakemake("--configfile", config, cwd=tmp_path, profile=PROFILE, timeout=1200)
    assert rerun.returncode == 0, rerun.stdout[-5000:]

    final = json.loads((run_dir / "final" / "status.json").read_text())
    assert final["state"] == "completed" and final["resumed_from"] >= 4  # resumed, not restarted
    metrics = pd.read_parquet(run_dir / "final" / "metrics.parquet")
    assert metrics.epoch.tolist() == list(range(1, 13))  # every epoch exactly once
    log = (tmp_path / "results" / "logs" / "train" / "cartpole-swingup" / "1M" / "mlp" / "seed1.log").read_text()
    assert f"resumed from epoch {final['resumed_from']}" in log
    runs = pd.read_parquet(tmp_path / "results" / "metrics" / "runs.parquet")
    assert runs.outcome.tolist() == ["completed"] and runs.evaluated_checkpoints.tolist() == [3]
