"""pwm-status on a synthetic results directory with a run in every state: every row of every
table is checked, and the HTML is opened in headless Chromium.

The sweep (config below, 24 planned runs): on cartpole-swingup (dm_control) mlp, flow-heun-k2
and flow-heun-k4 completed with three seeds each (k2 differs from mlp by noise, k4 clearly);
flow-euler-k8 has a running seed, a diverged seed and a collapsed seed. On mt30 (multi-task) two
runs died at import with the same ModuleNotFoundError, one failed with a RuntimeError, one was
OOM-killed by SLURM while its status still says running, one is silent for three hours (stale),
the rest never started. An evaluate job failed in the last Snakemake invocation; an older
invocation's failure has since been fixed and must not be reported.
"""
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from pwm.run_dir import STATUS_TIME
from pwm.pipeline import plan
from pwm.report import page, render
from pwm.report.cli import main
from pwm.pipeline.layout import Layout
from browser import CHROMIUM, MISSING, open_page
from workflow_helpers import write_run

EPOCHS = 120
CONFIG = {
    "tasks": ["cartpole-swingup", "mt30"], "sizes": ["5M"], "seeds": [1, 2, 3],
    "dynamics": [{"kind": "mlp"}, {"kind": "flow", "integrator": "heun", "substeps": [2, 4]},
                 {"kind": "flow", "integrator": "euler", "substeps": [8]}],
    "budgets": {"5M": {"epochs": EPOCHS, "checkpoint_every": 60, "overrides": {}}},
    "train_overrides": {}, "analysis": {"bootstrap_resamples": 2000},
}
# mt30 stands for a multi-task run here: not a task the workflow accepts, so the config is used
# as it is rather than through pwm.pipeline.plan.load_config.
SETTINGS = {**plan.analysis_settings(None), **CONFIG["analysis"]}
FINALS = {"mlp": [500, 530, 470], "flow-heun-k2": [510, 480, 525], "flow-heun-k4": [800, 830, 790]}
CARTPOLE, MT = "cartpole-swingup", "mt30"
IMPORT_ERROR = """Traceback (most recent call last):
  File "/work/.venv/bin/pwm-train", line 5, in <module>
    from pwm.cli import train_main
  File "/work/main/pwm/cli.py", line 18, in <module>
    from envs import make_env
ModuleNotFoundError: No module named 'envs'
"""
CUDA_ERROR = """epoch 10/120 env_steps 2560 last episode return 8.0 wall 15s
Traceback (most recent call last):
  File "/work/main/pwm/cli.py", line 47, in train_main
    return Trainer(cfg, log=_log).run(run)
  File "/work/main/pwm/agent.py", line 120, in update_actor_critic
    actor_loss.backward()
RuntimeError: CUDA error: out of memory
"""
EVAL_ERROR = """Traceback (most recent call last):
  File "/work/main/pwm/evaluate.py", line 51, in evaluate_checkpoint
    policy = Policy(checkpoint.load(path, device), device)
FileNotFoundError: checkpoint epoch_000060.pt is missing
"""
OOM = "slurmstepd: error: Detected 1 oom_kill event in StepId=777.batch. Some of the step tasks have been OOM Killed.\n"


def logged_every_third(values) -> np.ndarray:
    """Returns as the trainer logs them: NaN in epochs where no episode finished."""
    values = np.asarray(values, dtype=float).copy()
    values[np.arange(len(values)) % 3 != 2] = np.nan
    return values


def linear(epochs: int) -> np.ndarray:
    """Return epoch - 1 in each epoch: peak 119 at 120, mean of the last 10 logged 105.5."""
    return logged_every_third(np.arange(epochs))


def collapse_curve() -> np.ndarray:
    """0 for 30 epochs, 800 for 30 epochs (10 logged returns), 50 for the last 60."""
    return logged_every_third(np.repeat([0.0, 800.0, 50.0], [30, 30, 60]))


def evals(final: float) -> dict:
    return {60: [final / 2 - 5, final / 2, final / 2 + 5], 120: [final - 5, final, final + 5]}


def status_of(results: Path, run: str) -> Path:
    return results / "runs" / run / "status.json"


def patch_status(results: Path, run: str, **fields) -> None:
    path = status_of(results, run)
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


def age(results: Path, run: str, hours: float) -> None:
    """Make a run silent for `hours`: status.json's `updated` and metrics.parquet's mtime."""
    then = time.time() - hours * 3600
    patch_status(results, run, updated=time.strftime(STATUS_TIME, time.localtime(then)))
    os.utime(results / "runs" / run / "metrics.parquet", (then, then))


def write_log(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def snakemake_error(rule: str, output: str, log: str) -> str:
    return (f"Error in rule {rule}:\n    jobid: 7\n    output: {output}\n"
            f"    log: {log} (check log file(s) for error details)\n    external_jobid: 991\n\n")


def build_sweep(root: Path) -> Path:
    results = root / "results"
    for variant, finals in FINALS.items():
        for seed, final in enumerate(finals, 1):
            write_run(results, CARTPOLE, "5M", variant, seed, epochs=EPOCHS, returns=linear(EPOCHS), evals=evals(final))
    write_run(results, CARTPOLE, "5M", "flow-euler-k8", 1, epochs=EPOCHS, state="running", returns=linear(70),
              evals={60: [295.0, 300.0, 305.0]})
    patch_status(results, f"{CARTPOLE}/5M/flow-euler-k8/seed1", host="node7", slurm_job_id="4242")
    write_run(results, CARTPOLE, "5M", "flow-euler-k8", 2, epochs=EPOCHS, state="diverged", returns=linear(50))
    patch_status(results, f"{CARTPOLE}/5M/flow-euler-k8/seed2", loss="loss/actor", diverged_at_epoch=51,
                 reason="non-finite loss/actor")
    write_run(results, CARTPOLE, "5M", "flow-euler-k8", 3, epochs=EPOCHS, returns=collapse_curve(),
              evals={120: [95.0, 100.0, 105.0]})

    logs = results / "logs" / "train" / MT / "5M"
    for variant in ("mlp", "flow-heun-k2"):
        write_log(logs / variant / "seed1.log", IMPORT_ERROR)
    write_run(results, MT, "5M", "flow-heun-k4", 1, epochs=EPOCHS, state="failed", returns=linear(10))
    patch_status(results, f"{MT}/5M/flow-heun-k4/seed1", reason="RuntimeError: CUDA error: out of memory")
    write_log(logs / "flow-heun-k4" / "seed1.log", CUDA_ERROR)
    write_run(results, MT, "5M", "flow-heun-k4", 2, epochs=EPOCHS, state="running", returns=linear(20))
    age(results, f"{MT}/5M/flow-heun-k4/seed2", hours=2)
    write_log(logs / "flow-heun-k4" / "seed2.log", "epoch 10/120 env_steps 2560 last episode return 8.0 wall 15s\n")
    write_log(root / ".snakemake" / "slurm_logs" / "rule_train" / f"{MT}_5M_flow-heun-k4_2" / "777.log", OOM)
    write_run(results, MT, "5M", "mlp", 2, epochs=EPOCHS, state="running", returns=linear(30))
    age(results, f"{MT}/5M/mlp/seed2", hours=3)

    failed_eval = f"{CARTPOLE}/5M/flow-euler-k8/seed3/epoch60"
    fixed_eval = f"{CARTPOLE}/5M/mlp/seed1/epoch60"
    write_log(results / "logs" / "evaluate" / f"{failed_eval}.log", EVAL_ERROR)
    write_log(results / "logs" / "evaluate" / f"{fixed_eval}.log", EVAL_ERROR)
    smk = root / ".snakemake" / "log"
    write_log(smk / "2024-11-18T090000.000000.snakemake.log", snakemake_error(
        "evaluate", f"results/evaluations/{fixed_eval}.parquet", f"results/logs/evaluate/{fixed_eval}.log"))
    os.utime(smk / "2024-11-18T090000.000000.snakemake.log", (time.time() - 86400,) * 2)
    write_log(smk / "2024-11-19T090000.000000.snakemake.log", snakemake_error(
        "evaluate", f"results/evaluations/{failed_eval}.parquet", f"results/logs/evaluate/{failed_eval}.log"))
    (root / "config.yaml").write_text(yaml.safe_dump({**CONFIG, "tasks": [CARTPOLE]}))  # what the workflow accepts
    return results


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    return build_sweep(root)


@pytest.fixture(scope="module")
def built(sweep):
    return page.build(Layout.of(sweep), plan.planned_runs(CONFIG), SETTINGS)


def rows(built, key) -> list[list[str]]:
    section = next(s for s in built.sections if s.key == key)
    return section.table.values.tolist()


def columns(built, key) -> list[str]:
    return list(next(s for s in built.sections if s.key == key).table.columns)


def test_overall_table_counts_every_planned_run_by_category(built):
    assert columns(built, "overall") == ["size", "tasks", "dynamics", "completed", "running", "stale", "interrupted",
                                         "diverged", "failed", "pending", "unknown", "total", "collapsed"]
    assert rows(built, "overall") == [
        ["5M", "single-task", "baseline", "3", "0", "0", "0", "0", "0", "0", "0", "3", "0"],
        ["5M", "single-task", "flow", "7", "1", "0", "0", "1", "0", "0", "0", "9", "1"],
        ["5M", "multi-task", "baseline", "0", "0", "1", "0", "0", "1", "1", "0", "3", "0"],
        ["5M", "multi-task", "flow", "0", "0", "0", "0", "0", "3", "6", "0", "9", "0"],
        ["all", "", "", "10", "1", "1", "0", "1", "4", "7", "0", "24", "1"],
    ]


def test_experiments_table_has_a_row_per_planned_run(built):
    assert columns(built, "experiments") == [
        "task", "size", "integrator", "K", "seed", "outcome", "epochs", "peak train R", "last-10 train R",
        "best eval R", "final eval R", "Δ eval vs mlp", "flags"]
    done = ["completed", "120/120", "119.0 @ 120", "105.5"]
    pending = ["pending", "0/120", "–", "–", "–", "–"]
    assert rows(built, "experiments") == [
        [CARTPOLE, "5M", "mlp", "–", "1", *done, "500.0 @ 120", "500.0", "baseline", ""],
        [CARTPOLE, "5M", "mlp", "–", "2", *done, "530.0 @ 120", "530.0", "baseline", ""],
        [CARTPOLE, "5M", "mlp", "–", "3", *done, "470.0 @ 120", "470.0", "baseline", ""],
        [CARTPOLE, "5M", "euler", "8", "1", "running", "70/120", "68.0 @ 69", "54.5", "300.0 @ 60", "–",
         "+50.0 @ 60 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "euler", "8", "2", "diverged", "50/120", "47.0 @ 48", "33.5", "–", "–", "–", "diverged"],
        [CARTPOLE, "5M", "euler", "8", "3", "completed", "120/120", "800.0 @ 33", "50.0", "100.0 @ 120", "100.0",
         "-400.0 @ 120 (3 mlp seeds)", "collapsed"],
        [CARTPOLE, "5M", "heun", "2", "1", *done, "510.0 @ 120", "510.0", "+10.0 @ 120 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "heun", "2", "2", *done, "480.0 @ 120", "480.0", "-20.0 @ 120 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "heun", "2", "3", *done, "525.0 @ 120", "525.0", "+25.0 @ 120 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "heun", "4", "1", *done, "800.0 @ 120", "800.0", "+300.0 @ 120 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "heun", "4", "2", *done, "830.0 @ 120", "830.0", "+330.0 @ 120 (3 mlp seeds)", ""],
        [CARTPOLE, "5M", "heun", "4", "3", *done, "790.0 @ 120", "790.0", "+290.0 @ 120 (3 mlp seeds)", ""],
        [MT, "5M", "mlp", "–", "1", "failed", "0/120", "–", "–", "–", "–", "baseline", ""],
        [MT, "5M", "mlp", "–", "2", "stale", "30/120", "29.0 @ 30", "15.5", "–", "–", "baseline", ""],
        [MT, "5M", "mlp", "–", "3", *pending, "baseline", ""],
        *[[MT, "5M", "euler", "8", str(seed), *pending, "–", ""] for seed in (1, 2, 3)],
        [MT, "5M", "heun", "2", "1", "failed", "0/120", "–", "–", "–", "–", "–", ""],
        *[[MT, "5M", "heun", "2", str(seed), *pending, "–", ""] for seed in (2, 3)],
        [MT, "5M", "heun", "4", "1", "failed", "10/120", "8.0 @ 9", "5.0", "–", "–", "–", ""],
        [MT, "5M", "heun", "4", "2", "failed", "20/120", "17.0 @ 18", "9.5", "–", "–", "–", ""],
        [MT, "5M", "heun", "4", "3", *pending, "–", ""],
    ]


def test_running_table_shows_progress_pace_and_where_and_calls_silence_stale(built):
    assert columns(built, "running") == ["run", "state", "progress", "wall time", "current R", "peak R", "ETA",
                                         "node", "memory", "device", "precision", "SLURM job", "last update", "note"]
    assert rows(built, "running") == [
        # 70 of 120 epochs at 1.5 s each: 105 s so far, 50 x 1.5 = 75 s to go
        [f"{CARTPOLE}/5M/flow-euler-k8/seed1", "running", "58.3% (70/120)", "2m", "68.0 @ 69", "68.0 @ 69", "1m",
         "node7", "2.0 GB", "cpu", "bf16", "4242", "0m ago", ""],
        [f"{MT}/5M/mlp/seed2", "stale", "25.0% (30/120)", "1m", "29.0 @ 30", "29.0 @ 30", "–", "node1", "2.0 GB", "cpu", "bf16", "123",
         "3h00m ago", "no update for 3.0 h"],
    ]


def test_failures_are_grouped_by_exception_with_their_origin_and_log(built, sweep):
    logs = sweep / "logs" / "train" / MT / "5M"
    assert columns(built, "failures") == ["exception", "message", "raised at", "count", "affected", "log"]
    assert rows(built, "failures") == [
        ["ModuleNotFoundError", "No module named 'envs'", "/work/main/pwm/cli.py:18", "2",
         f"{MT}/5M/mlp/seed1, {MT}/5M/flow-heun-k2/seed1", f"{logs / 'mlp' / 'seed1.log'} (+1 more)"],
        ["RuntimeError", "CUDA error: out of memory", "/work/main/pwm/agent.py:120", "1",
         f"{MT}/5M/flow-heun-k4/seed1", str(logs / "flow-heun-k4" / "seed1.log")],
        ["SLURM OUT_OF_MEMORY", "killed by SLURM: the job exceeded its memory request", "–", "1",
         f"{MT}/5M/flow-heun-k4/seed2",
         str(sweep.parent / ".snakemake" / "slurm_logs" / "rule_train" / f"{MT}_5M_flow-heun-k4_2" / "777.log")],
        ["FileNotFoundError", "checkpoint epoch_000060.pt is missing", "/work/main/pwm/evaluate.py:51", "1",
         f"evaluate {CARTPOLE}/5M/flow-euler-k8/seed3/epoch60",
         str(sweep / "logs" / "evaluate" / CARTPOLE / "5M" / "flow-euler-k8" / "seed3" / "epoch60.log")],
    ]


def test_diverged_and_collapsed_runs_are_flagged_with_their_epochs(built):
    assert rows(built, "diverged") == [[f"{CARTPOLE}/5M/flow-euler-k8/seed2", "51", "loss/actor", "33.5"]]
    assert columns(built, "collapsed") == ["run", "outcome", "first-10 R", "peak 10-mean R", "last-10 R",
                                           "gain given back"]
    # the peak window holds the 10 logged returns of 800 (epochs 33 ... 60), centred on epoch 48
    assert rows(built, "collapsed") == [[f"{CARTPOLE}/5M/flow-euler-k8/seed3", "completed", "0.0", "800.0 @ 48",
                                         "50.0", "94%"]]


INTERVAL = re.compile(r"^([+-]?[\d,.]+) \[([+-]?[\d,.]+), ([+-]?[\d,.]+)\]$")


def bounds(cell: str) -> tuple[float, float, float]:
    estimate, low, high = (float(v.replace(",", "")) for v in INTERVAL.match(cell).groups())
    assert low <= estimate <= high
    return estimate, low, high


def test_leaderboard_ranks_configurations_and_judges_each_against_its_baseline(built):
    table = rows(built, "leaderboard")
    fixed = [row[:5] + row[8:9] + row[12:] for row in table]  # all but the intervals and the cost
    assert fixed == [
        [CARTPOLE, "1", "5M", "flow-heun-k4", "3/3", "better", "806.7", "119.0", "105.5", "0", "0"],
        [CARTPOLE, "2", "5M", "flow-heun-k2", "3/3", "not distinguishable", "505.0", "119.0", "105.5", "0", "0"],
        [CARTPOLE, "3", "5M", "mlp", "3/3", "baseline", "500.0", "119.0", "105.5", "0", "0"],
        [CARTPOLE, "4", "5M", "flow-euler-k8", "1/3", "too few seeds", "200.0", "305.0", "46.0", "1", "1"],
        [MT, "–", "5M", "flow-euler-k8", "0/3", "no baseline", "–", "–", "–", "0", "0"],
        [MT, "–", "5M", "flow-heun-k2", "0/3", "no baseline", "–", "–", "–", "0", "0"],
        [MT, "–", "5M", "flow-heun-k4", "0/3", "no baseline", "–", "12.5", "7.2", "0", "0"],
        [MT, "–", "5M", "mlp", "0/3", "baseline", "–", "29.0", "15.5", "0", "0"],
    ]
    k4, k2, mlp, k8 = table[:4]
    # 3 seeds: the interval is the seeds' range, said so; a difference is the range of seed-to-seed differences
    assert bounds(k4[5]) == (806.7, 790.0, 830.0) and k4[6] == "range of 3 seeds"
    assert bounds(k4[7]) == (306.7, 260.0, 360.0)  # every k4 seed beats every mlp seed: better
    assert bounds(k2[5])[0] == 505.0
    _, low, high = bounds(k2[7])  # noise: the interval of +5.0 straddles 0
    assert low < 0 < high
    assert bounds(mlp[5]) == (500.0, 470.0, 530.0) and mlp[7] == "–"
    assert [k8[5], k8[6], k8[7]] == ["100.0 (no interval: under 2 seeds)", "no interval: under 2 seeds",
                                    "-400.0 (no interval: under 2 seeds)"]
    assert [[r[5], r[7]] for r in table[4:]] == [["–", "–"]] * 4
    # cost: 120 epochs at 1.5 s = 0.05 h per run; CPU time is not in these synthetic metrics
    assert k4[9:12] == ["0.05", "–", "16,133.3"]


def test_leaderboard_findings_state_each_verdict_and_the_warnings(built):
    """The wording is pwm.report.sections.findings'; what must be there is each verdict and warning."""
    bullets = next(s for s in built.sections if s.key == "leaderboard").bullets
    expected = [
        (f"flow-heun-k4 vs mlp at 5M on {CARTPOLE}: +306.7 [", "— better."),
        (f"flow-heun-k2 vs mlp at 5M on {CARTPOLE}: +5.0 [", "— not distinguishable."),
        (f"flow-euler-k8 vs mlp at 5M on {CARTPOLE}: ", "(too few seeds)."),
        *[(f"{variant} vs mlp at 5M on {MT}: ", "(no baseline).")
          for variant in ("flow-euler-k8", "flow-heun-k2", "flow-heun-k4")],
        ("5 configuration(s) have fewer than two evaluated seeds", "their numbers are anecdotes."),
        ("1 run(s) collapsed", f"flow-euler-k8 5M on {CARTPOLE}."),
        ("1 run(s) diverged", f"flow-euler-k8 5M on {CARTPOLE}."),
    ]
    assert len(bullets) == len(expected)
    for bullet, (start, end) in zip(bullets, expected):
        assert bullet.startswith(start) and bullet.endswith(end), bullet


def test_iqm_across_tasks_normalises_dm_control_and_leaves_out_the_rest(built):
    section = next(s for s in built.sections if s.key == "iqm")
    table = rows(built, "iqm")
    assert [row[:4] + row[6:7] for row in table] == [
        ["5M", "mlp", "1", "3", "baseline"],
        ["5M", "flow-euler-k8", "1", "1", "too few seeds"],
        ["5M", "flow-heun-k2", "1", "3", "not distinguishable"],
        ["5M", "flow-heun-k4", "1", "3", "better"],
    ]
    assert bounds(table[0][4])[0] == 0.5 and table[0][5] == "–"
    assert table[1][4:6] == ["0.100 (no interval: under 2 seeds)", "-0.400 (no interval: under 2 seeds)"]
    assert bounds(table[2][4])[0] == 0.505 and bounds(table[2][5])[1] < 0 < bounds(table[2][5])[2]
    assert bounds(table[3][4])[0] == 0.807 and bounds(table[3][5])[1] > 0
    assert any(note.endswith(f"scored per member task): {MT}.") for note in section.notes)
    # probability of improvement over mlp: k2 wins 5 of 9 seed pairs, k4 all, k8's one seed none
    assert [row[7].split(" ")[0] for row in table] == ["–", "0.00", "0.56", "1.00"]
    assert table[3][7].endswith("over 1 task(s)")


def test_figures_lead_with_evaluation_curves_then_learning_curves_substeps_and_runs(built):
    figures = next(s for s in built.sections if s.key == "figures").figures
    assert [f.name for f in figures] == [f"evaluation_curves_{CARTPOLE}", f"learning_curves_{CARTPOLE}",
                                         f"learning_curves_{MT}", f"substeps_{CARTPOLE}", "runs"]
    assert all(f.data.startswith(b"\x89PNG") for f in figures)


def test_a_large_sweep_draws_its_curves_in_a_worker_process_and_gets_the_same_page(sweep, monkeypatch):
    """From PARALLEL_FROM runs the curve figures are drawn in a worker while the statistics run:
    the page must be the one drawn in-process, figure for figure."""
    from concurrent.futures import ProcessPoolExecutor

    now = time.time()
    alone = page.build(Layout.of(sweep), plan.planned_runs(CONFIG), SETTINGS, now=now)
    workers = []
    monkeypatch.setattr(page, "PARALLEL_FROM", 1)
    monkeypatch.setattr(page, "ProcessPoolExecutor", lambda n: workers.append(n) or ProcessPoolExecutor(n))
    shared = page.build(Layout.of(sweep), plan.planned_runs(CONFIG), SETTINGS, now=now)
    assert workers == [1]
    assert render.html(shared) == render.html(alone)
    assert [f.data for s in shared.sections for f in s.figures] == [f.data for s in alone.sections for f in s.figures]


def tree_state(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.rglob("*"))}


def test_cli_writes_markdown_html_and_figures_and_leaves_run_folders_alone(sweep, tmp_path, capsys):
    before = tree_state(sweep / "runs")
    out = tmp_path / "status"
    assert main([str(sweep), "--config", str(sweep.parent / "config.yaml"), "--out", str(out)]) == 0
    assert tree_state(sweep / "runs") == before
    printed = capsys.readouterr().out
    lines = [line.split() for line in printed.splitlines()]
    # mt30 is not planned by this config: its runs are the ones found on disk, all failed
    assert ["5M", "multi-task", "flow", "0", "0", "0", "0", "0", "3", "0", "0", "3", "0"] in lines
    assert "1 run(s) collapsed" in printed and "4 distinct failure(s) across 5 run(s)/job(s)" in printed
    md = (out / "status.md").read_text()
    assert "## Leaderboard" in md and f"| {CARTPOLE} | 1 | 5M | flow-heun-k4 | 3/3 |" in md
    assert "![per-run training return](figures/runs.png)" in md and (out / "figures" / "runs.png").exists()
    html = (out / "status.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 5 and 'class="bad">collapsed<' in html


def test_without_a_config_only_runs_on_disk_are_reported(sweep, tmp_path):
    built = page.build(Layout.of(sweep), {}, plan.analysis_settings(None))
    overall = rows(built, "overall")
    assert overall[-1] == ["all", "", "", "10", "1", "1", "0", "1", "4", "0", "0", "17", "1"]


def test_a_failed_preflight_fails_the_runs_it_kept_from_starting(tmp_path):
    results = tmp_path / "results"
    for variant in ("mlp", "flow-heun-k2"):
        write_log(results / "logs" / "preflight" / MT / "5M" / f"{variant}.log", f"preflight FAILED\n{IMPORT_ERROR}")
    (results / "preflight" / MT / "5M").mkdir(parents=True)
    (results / "preflight" / MT / "5M" / "mlp.json").write_text("{}")  # mlp passed on a later attempt
    config = {**CONFIG, "tasks": [MT], "seeds": [1, 2]}
    built = page.build(Layout.of(results), plan.planned_runs(config), SETTINGS)
    assert [row[:5] for row in rows(built, "failures")] == [
        ["ModuleNotFoundError", "No module named 'envs'", "/work/main/pwm/cli.py:18", "2",
         f"{MT}/5M/flow-heun-k2/seed1, {MT}/5M/flow-heun-k2/seed2"]]
    assert rows(built, "overall")[-1] == ["all", "", "", "0", "0", "0", "0", "0", "2", "6", "0", "8", "0"]
    write_run(results, MT, "5M", "mlp", 1, epochs=EPOCHS, state="interrupted", returns=linear(30))
    alone = page.build(Layout.of(results), {}, plan.analysis_settings(None))  # no config: no planned runs
    assert [row[3:5] for row in rows(alone, "failures")] == [["1", f"preflight {MT}/5M/flow-heun-k2"]]
    assert rows(alone, "overall") == [["5M", "multi-task", "baseline", "0", "0", "0", "1", "0", "0", "0", "0", "1", "0"],
                                      ["all", "", "", "0", "0", "0", "1", "0", "0", "0", "0", "1", "0"]]


def test_an_output_folder_inside_the_run_folders_is_refused(sweep, capsys):
    assert main([str(sweep), "--out", str(sweep / "runs" / "status")]) == 2
    assert "inside the run folders" in capsys.readouterr().err


def test_an_empty_results_directory_is_an_error_not_an_empty_report(tmp_path, capsys):
    assert main([str(tmp_path)]) == 1
    assert "no run folders or training logs" in capsys.readouterr().err


if CHROMIUM is None:
    print(f"test_report_status_page: the browser test will skip: {MISSING}")


@pytest.mark.skipif(CHROMIUM is None, reason=MISSING)
def test_the_html_report_renders_in_headless_chromium(built, tmp_path):
    page = tmp_path / "status.html"
    page.write_text(render.html(built), encoding="utf-8")
    dom, screenshot = open_page(page, tmp_path, "status-report.png")
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "Leaderboard" in text and "not distinguishable" in text and "better" in text
    assert "No module named 'envs'" in text
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', dom)
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")
