"""IQM of normalised scores across tasks with a stratified bootstrap interval; noise between
configurations is "not distinguishable", a clear difference "better"."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pwm.report.stats import verdict
from pwm.envs import TASKS
from pwm.envs.dmc import DMC_TASKS
from pwm.report.scores import improvement_probability, iqm_difference, iqm_interval, iqm_table, normalised_scores
from pwm.pipeline.tasks import is_multitask, max_return, suite

RESAMPLES = 2000


def test_iqm_is_the_mean_of_the_middle_half_of_all_scores_pooled_over_tasks():
    tasks = [np.array([0.1, 0.5, 0.6, 0.9]), np.array([0.2, 0.3, 0.4, 10.0])]  # one outlier run
    ci = iqm_interval(tasks, resamples=RESAMPLES)
    assert ci.estimate == pytest.approx(stats.trim_mean(np.concatenate(tasks), 0.25))
    assert ci.estimate == pytest.approx(np.mean([0.3, 0.4, 0.5, 0.6]))  # the outlier does not count
    assert ci.low <= ci.estimate <= ci.high


def test_a_task_with_one_seed_gives_an_iqm_without_an_interval():
    ci = iqm_interval([np.array([0.4, 0.5]), np.array([0.7])], resamples=RESAMPLES)
    assert ci.estimate == pytest.approx(np.mean([0.4, 0.5, 0.7])) and np.isnan(ci.low) and np.isnan(ci.high)
    assert verdict(iqm_difference([np.array([0.7])], [np.array([0.4, 0.5])])) == "too few seeds"


def test_noise_between_configurations_is_not_distinguishable_and_a_clear_gain_is_better():
    rng = np.random.default_rng(3)
    baseline = [rng.normal(0.5, 0.1, 5) for _ in range(6)]
    same = [rng.normal(0.5, 0.1, 5) for _ in range(6)]
    gain = [rng.normal(0.7, 0.1, 5) for _ in range(6)]
    assert verdict(iqm_difference(same, baseline, resamples=RESAMPLES)) == "not distinguishable"
    delta = iqm_difference(gain, baseline, resamples=RESAMPLES)
    assert verdict(delta) == "better" and 0.1 < delta.estimate < 0.3
    assert verdict(iqm_difference(baseline, gain, resamples=RESAMPLES)) == "worse"


def runs_table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "size", "variant", "final_eval_return"])


def test_scores_are_normalised_by_1000_on_dm_control_and_other_suites_are_left_out():
    runs = runs_table([["cartpole-swingup", "5M", "mlp", 850.0], ["Ant-v5", "5M", "mlp", 2400.0],
                       ["mt30", "5M", "mlp", 300.0], ["walker-walk", "5M", "mlp", np.nan]])
    scored, skipped = normalised_scores(runs)
    assert scored.score.tolist() == [0.85] and skipped == ["Ant-v5", "mt30"]


def test_iqm_table_compares_each_flow_variant_with_the_baseline_of_its_size():
    rng = np.random.default_rng(4)
    rows = []
    for task in ("cartpole-swingup", "walker-walk", "cheetah-run"):
        for variant, level in (("mlp", 500), ("flow-heun-k2", 500), ("flow-heun-k4", 800)):
            rows += [[task, "5M", variant, v] for v in rng.normal(level, 40, 4)]
    rows.append(["cartpole-swingup", "48M", "flow-euler-k8", 900.0])
    table, skipped = iqm_table(runs_table(rows), 0.95, RESAMPLES)
    assert table[["size", "variant", "tasks", "runs", "verdict"]].values.tolist() == [
        ["5M", "mlp", 3, 12, "baseline"], ["5M", "flow-heun-k2", 3, 12, "not distinguishable"],
        ["5M", "flow-heun-k4", 3, 12, "better"], ["48M", "flow-euler-k8", 1, 1, "no baseline"]]
    assert skipped == []


@pytest.mark.parametrize("task", TASKS)
def test_every_registered_task_is_classified_by_its_name(task):
    assert suite(task) == ("dm_control" if task in DMC_TASKS else "gymnasium")
    assert max_return(task) == (1000.0 if task in DMC_TASKS else None) and not is_multitask(task)


@pytest.mark.parametrize("task", ["mt30", "MT80"])
def test_multitask_sets_have_no_single_normaliser(task):
    assert is_multitask(task) and max_return(task) is None


def test_probability_of_improvement_counts_seed_pairs_per_task_and_averages_tasks():
    a = [np.array([3.0, 5.0]), np.array([10.0, 10.0])]
    b = [np.array([4.0, 4.0]), np.array([10.0, 20.0])]
    # task 1: (3>4 no, 3>4 no, 5>4, 5>4) = 0.5; task 2: (tie .5, lose, tie .5, lose) = 0.25
    poi = improvement_probability(a, b, resamples=500)
    assert poi.estimate == pytest.approx(0.375) and 0.0 <= poi.low <= poi.estimate <= poi.high <= 1.0


def test_iqm_table_gives_the_probability_of_improvement_on_gymnasium_tasks_too():
    runs = pd.DataFrame({"task": ["Hopper-v5"] * 4, "size": "1M", "variant": ["mlp", "mlp", "flow-heun-k2", "flow-heun-k2"],
                         "seed": [1, 2, 1, 2], "final_eval_return": [100.0, 200.0, 300.0, 400.0]})
    table, skipped = iqm_table(runs, 0.95, 500)
    flow = table.set_index("variant").loc["flow-heun-k2"]
    assert skipped == ["Hopper-v5"] and flow.poi == 1.0 and flow.poi_tasks == 1 and np.isnan(flow.iqm)


def test_probability_of_improvement_bounds_equal_comparing_every_resampled_pair():
    """The seed-count shortcut must give the bounds of the direct pairwise statistic on the same resamples."""
    rng = np.random.default_rng(6)
    a = [np.round(rng.normal(0.5, 0.1, n), 1) for n in (6, 4, 3)]  # rounded: ties occur
    b = [np.round(rng.normal(0.5, 0.1, n), 1) for n in (5, 4, 2)]

    def pairwise(*samples, axis):
        per_task = []
        for x, y in zip(samples[:3], samples[3:]):
            x, y = np.moveaxis(x, axis, -1)[..., :, None], np.moveaxis(y, axis, -1)[..., None, :]
            per_task.append(((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1)))
        return np.mean(per_task, axis=0)
    direct = stats.bootstrap((*a, *b), pairwise, n_resamples=2000, method="percentile",
                             rng=np.random.default_rng(0)).confidence_interval
    poi = improvement_probability(a, b, resamples=2000)
    assert (poi.low, poi.high) == pytest.approx((direct.low, direct.high), abs=1e-12)
