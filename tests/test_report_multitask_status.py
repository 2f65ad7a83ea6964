"""The status page shows multi-task world models and per-task policies: state, progress, ETA,
failures and each policy's final return next to the single-task runs of its task."""
import json
import time

import numpy as np
import pandas as pd

from pwm.pipeline.layout import Layout
from pwm.pipeline.plan import analysis_settings
from pwm.report import page
from workflow_helpers import utc, write_run

TASKS = ["cartpole-swingup", "pendulum-swingup"]


def write_folder(folder, state: str, epochs: int, reached: int, reason=None):
    folder.mkdir(parents=True)
    epoch = np.arange(1, reached + 1)
    pd.DataFrame({"epoch": epoch, "wall_s": epoch * 2.0, "loss/world_model": 0.1}).to_parquet(folder / "metrics.parquet")
    (folder / "status.json").write_text(json.dumps({"state": state, "reason": reason, "epoch": reached, "epochs": epochs,
                                                    "host": "node3", "pid": 1, "updated": utc()}))


def test_world_models_and_policies_are_listed_with_their_scores(tmp_path):
    results = tmp_path / "results"
    write_run(results, "cartpole-swingup", "1M", "mlp", 1, evals={40: [400.0, 420.0]})
    root = results / "multitask" / "pair" / "1M" / "mlp" / "seed1"
    write_folder(root / "world_model", "completed", 100, 100)
    write_folder(root / "policy" / "cartpole-swingup", "completed", 50, 50)
    write_folder(root / "policy" / "pendulum-swingup", "running", 50, 20)
    evaluation = results / "evaluations" / "multitask" / "pair" / "1M" / "mlp" / "seed1" / "cartpole-swingup"
    evaluation.mkdir(parents=True)
    pd.DataFrame({"return": [300.0, 310.0]}).to_parquet(evaluation / "epoch50.parquet")
    built = page.build(Layout.of(results), {}, analysis_settings(None), now=time.time())
    section = next(s for s in built.sections if s.key == "multitask_runs")
    rows = section.table[["stage", "task", "outcome", "progress", "ETA", "final eval R", "single-task eval R"]]
    assert rows.values.tolist() == [
        ["world model", "–", "completed", "100% (100/100)", "–", "–", "–"],
        ["policy", "cartpole-swingup", "completed", "100% (50/50)", "–", "305.0", "410.0"],
        ["policy", "pendulum-swingup", "running", "40% (20/50)", "1m", "–", "–"],  # 30 epochs x 2 s to go
    ]
