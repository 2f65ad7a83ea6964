"""pwm-status meets damaged and foreign files: every case becomes a flagged row (an unknown
outcome or a listed unreadable file) and the rest of the report is still written."""
import json
import os
from html import unescape

import pytest

from pwm.report.cli import main
from workflow_helpers import write_run

TASK, SIZE = "cartpole-swingup", "1M"
RUN = f"runs/{TASK}/{SIZE}/mlp/seed2"


def status_bytes(data: bytes):
    def damage(results):
        (results / RUN / "status.json").write_bytes(data)
        (results / RUN / "final" / "status.json").unlink()
        return "unreadable status.json"
    return damage


def status_fields(**fields):
    def damage(results):
        for path in (results / RUN / "status.json", results / RUN / "final" / "status.json"):
            path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))
        return fields.get("expect")
    return damage


def truncated_evaluation(results):
    path = results / "evaluations" / TASK / SIZE / "mlp" / "seed2" / "epoch40.parquet"
    path.write_bytes(path.read_bytes()[:100])
    return "unreadable epoch40.parquet"


def truncated_metrics(results):
    for path in (results / RUN / "metrics.parquet", results / RUN / "final" / "metrics.parquet"):
        path.write_bytes(path.read_bytes()[:200])
    return "unreadable metrics.parquet"


def stray_folder(results):
    os.rename(results / RUN, results / RUN.replace("seed2", "seed02"))
    return "not a run folder the pipeline makes"


def foreign_variant_folder(results):
    (results / f"runs/{TASK}/{SIZE}/flowish/seed1").mkdir(parents=True)
    return "not a run folder the pipeline makes"


def damaged_param_counts(results):
    (results / RUN / "param_counts.json").write_text("{")
    return None  # parameter counts are left unknown, nothing else is affected


def damaged_clips(results):
    folder = results / "report" / "clips" / TASK / SIZE / "mlp"
    folder.mkdir(parents=True)
    (folder / "clips.json").write_text('{"best": {"seed": 1}}')  # no worst, no GIFs
    return "unreadable policy clips"


CASES = {
    "damaged policy clips": damaged_clips,
    "empty status.json": status_bytes(b""),
    "non-UTF-8 status.json": status_bytes(b"\xff\xfe\x00garbage"),
    "a JSON list": status_bytes(b"[]"),
    "a status without state": status_bytes(b'{"epoch": 3}'),
    "an unknown state": status_fields(state="paused", expect="unknown state 'paused'"),
    "an unparsable updated": status_fields(updated="yesterday", expect="updated 'yesterday' is not a time"),
    "a truncated evaluation": truncated_evaluation,
    "a truncated metrics file": truncated_metrics,
    "a stray seed01 folder": stray_folder,
    "a folder of an unknown variant": foreign_variant_folder,
    "damaged param_counts.json": damaged_param_counts,
}


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_file_is_flagged_and_the_report_still_written(tmp_path, case, capsys):
    results = tmp_path / "results"
    for seed in (1, 2, 3):
        write_run(results, TASK, SIZE, "mlp", seed, evals={40: [100.0 * seed]})
    flag = CASES[case](results)
    out = tmp_path / "status"
    assert main([str(results), "--out", str(out)]) == 0
    html = unescape((out / "status.html").read_text())
    assert "Leaderboard" in html and "Experiments" in html
    if flag is not None:
        assert flag in html, f"{case}: not flagged"
    if case in ("empty status.json", "non-UTF-8 status.json", "a JSON list", "a status without state",
                "an unknown state"):
        overall = html.split('id="overall"')[1].split("</table>")[0]
        assert ">unknown<" in overall and '<td class="warn">unknown</td>' in html
    capsys.readouterr()


def test_a_sweep_read_over_several_processes_gives_the_same_snapshot(tmp_path, monkeypatch):
    """pwm-status reads a large sweep in worker processes: rows, curves, evaluations, failures and
    flagged files must be those (and in the order) of one process."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np
    import pandas as pd

    from pwm.pipeline.layout import Layout
    from pwm.results import collect
    from workflow_helpers import SETTINGS

    results = tmp_path / "results"
    for variant in ("mlp", "flow-heun-k2"):
        for seed in (1, 2, 3):
            write_run(results, TASK, SIZE, variant, seed, evals={20: [50.0 * seed], 40: [100.0 * seed]})
    write_run(results, TASK, SIZE, "flow-euler-k4", 1, state="running", returns=np.arange(25.0))
    write_run(results, TASK, SIZE, "flow-euler-k4", 2, state="failed")
    truncated_evaluation(results)
    truncated_metrics(results)
    layout, now = Layout.of(results), time.time()
    alone = collect.collect(layout, {}, SETTINGS, now)
    pools = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(collect, "PARALLEL_FROM", 1)
    monkeypatch.setattr(collect, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(collect.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    called = []  # the work pwm-status does in this process while the workers read (imports)
    shared = collect.collect(layout, {}, SETTINGS, now, meanwhile=lambda: called.append(len(pools)))
    assert pools == [(3,)] and called == [1]
    pd.testing.assert_frame_equal(alone.runs, shared.runs)
    pd.testing.assert_frame_equal(alone.evaluations, shared.evaluations)
    assert alone.unreadable == shared.unreadable and len(alone.unreadable) == 2
    assert alone.failures == shared.failures and len(alone.failures) == 1
    assert alone.curves.keys() == shared.curves.keys()
    for run, curve in alone.curves.items():
        np.testing.assert_array_equal(curve.value, shared.curves[run].value)
