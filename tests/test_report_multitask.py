"""Multi-task scores: normalisation, the per-seed average over a task set, and the comparison
with single-task runs of the same tasks, size and variant."""
import pandas as pd
import pytest

from pwm.report.multitask import summarize, with_single_task
from pwm.results.schemas import MULTITASK, MULTITASK_SUMMARY


def policies(returns_by_seed: dict[int, dict[str, float]]) -> pd.DataFrame:
    rows = [{"task_set": "dmc", "task": task, "size": "1M", "variant": "mlp", "seed": seed, "outcome": "completed",
             "reason": "", "final_eval_return": r, "normalised_score": r / 1000, "run_dir": ""}
            for seed, by_task in returns_by_seed.items() for task, r in by_task.items()]
    return pd.DataFrame(rows)


def single_runs(returns_by_seed: dict[int, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"task": task, "size": "1M", "variant": "mlp", "seed": seed, "final_eval_return": r}
                         for seed, by_task in returns_by_seed.items() for task, r in by_task.items()])


def test_score_is_the_per_seed_task_average_and_single_task_is_compared():
    multi = policies({1: {"a-x": 800, "b-y": 600}, 2: {"a-x": 900, "b-y": 700}, 3: {"a-x": 850, "b-y": 650}})
    single = single_runs({1: {"a-x": 100, "b-y": 200}, 2: {"a-x": 150, "b-y": 250}, 3: {"a-x": 120, "b-y": 220}})
    rows = with_single_task(multi, single)
    assert list(rows.columns) == list(MULTITASK)
    assert rows.set_index(["seed", "task"]).single_task_return[(1, "a-x")] == pytest.approx(123.333, abs=1e-3)
    out = summarize(rows, single, 0.95, 2000)
    assert list(out.columns) == list(MULTITASK_SUMMARY)
    row = out.iloc[0]
    assert row.score == pytest.approx((0.7 + 0.8 + 0.75) / 3)
    assert row.single_task_score == pytest.approx((0.15 + 0.2 + 0.17) / 3)
    assert row.delta_vs_single_task == pytest.approx(row.score - row.single_task_score)
    assert row.score_ci_low <= row.score <= row.score_ci_high
    assert row.verdict == "better" and row.n_seeds == 3 and row.single_task_seeds == 3


def test_a_seed_missing_a_task_does_not_count_and_uncovered_sets_get_no_verdict():
    multi = policies({1: {"a-x": 800, "b-y": float("nan")}, 2: {"a-x": 900, "b-y": 700}})
    single = single_runs({1: {"a-x": 100}})  # b-y has no single-task run
    out = summarize(with_single_task(multi, single), single, 0.95, 1000).iloc[0]
    assert out.n_seeds == 1 and out.score == pytest.approx(0.8)
    assert out.verdict == "no single-task runs of every task" and pd.isna(out.single_task_score)
