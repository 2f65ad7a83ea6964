"""Bootstrap intervals over seeds and the verdicts drawn from them."""
import numpy as np
import pytest
from scipy import stats

from pwm.report.stats import Interval, difference_interval, mean_interval, verdict


def test_mean_interval_brackets_the_mean_within_the_data_range():
    values = [812.0, 640.0, 1003.0, 755.0, 901.0]
    ci = mean_interval(values, resamples=5000)
    assert ci.estimate == pytest.approx(np.mean(values))
    assert min(values) <= ci.low < ci.estimate < ci.high <= max(values)


def test_mean_interval_narrows_with_more_seeds():
    rng = np.random.default_rng(1)
    few, many = rng.normal(100, 20, 4), rng.normal(100, 20, 64)
    width = lambda ci: ci.high - ci.low  # noqa: E731
    assert width(mean_interval(many)) < width(mean_interval(few))


def test_single_seed_and_missing_values_give_no_interval():
    ci = mean_interval([np.nan, 42.0])
    assert ci.estimate == 42.0 and np.isnan(ci.low) and np.isnan(ci.high)
    assert np.isnan(mean_interval([np.nan]).estimate)


def test_noise_between_seed_groups_is_not_distinguishable():
    baseline = [1170.0, 22.0, 85.0, 640.0, 900.0]  # seed spread as in the example report's evaluation
    flow = [155.0, 1264.0, 871.0, 300.0, 700.0]
    delta = difference_interval(flow, baseline, resamples=5000)
    assert delta.low < 0 < delta.high
    assert verdict(delta) == "not distinguishable"


def test_a_clear_difference_is_better_or_worse():
    baseline = [100.0, 110.0, 95.0, 105.0]
    flow = [500.0, 520.0, 480.0, 510.0]
    better = difference_interval(flow, baseline)
    assert better.estimate == pytest.approx(np.mean(flow) - np.mean(baseline))
    assert verdict(better) == "better"
    assert verdict(difference_interval(baseline, flow)) == "worse"


def test_a_single_seed_on_either_side_gives_no_verdict():
    assert verdict(difference_interval([500.0], [100.0, 110.0])) == "too few seeds"
    assert verdict(difference_interval([500.0, 520.0], [100.0])) == "too few seeds"


def test_interval_excludes_zero_only_when_both_bounds_share_a_sign():
    assert Interval(1.0, 0.5, 2.0).excludes_zero
    assert not Interval(1.0, -0.5, 2.0).excludes_zero


def test_under_five_seeds_the_interval_is_the_seeds_range_and_says_so():
    three = mean_interval([10.0, 30.0, 20.0])
    assert (three.low, three.high, three.kind) == (10.0, 30.0, "range")
    assert three.label(0.95) == "range of 3 seeds"
    five = mean_interval([10.0, 30.0, 20.0, 25.0, 15.0])
    assert five.kind == "bootstrap" and five.label(0.95) == "95% bootstrap, 5 seeds" and 10.0 < five.low < five.high < 30.0


def test_with_few_seeds_better_means_every_seed_beats_every_baseline_seed():
    assert verdict(difference_interval([5.0, 6.0, 7.0], [1.0, 2.0, 4.0])) == "better"
    overlap = difference_interval([5.0, 6.0, 7.0], [1.0, 2.0, 5.5])
    assert (overlap.low, overlap.high) == (5.0 - 5.5, 7.0 - 1.0) and verdict(overlap) == "not distinguishable"


def test_two_seeds_a_side_give_a_range_but_no_verdict():
    delta = difference_interval([5.0, 6.0], [1.0, 2.0])
    assert (delta.low, delta.high, delta.kind) == (3.0, 5.0, "range") and verdict(delta) == "too few seeds"


def test_batched_intervals_equal_the_bootstrap_of_each_group_alone():
    """Groups of equal size share one bootstrap call; each must get the bounds scipy gives it alone."""
    from pwm.report.stats import difference_intervals, mean_intervals
    rng = np.random.default_rng(5)
    groups = [rng.normal(100, 30, n) for n in (5, 7, 5, 10, 3, 1)]
    for values, ci in zip(groups, mean_intervals(groups)):
        if len(values) >= 5:
            alone = stats.bootstrap((values,), np.mean, n_resamples=10000, method="percentile",
                                    rng=np.random.default_rng(0)).confidence_interval
            assert (ci.low, ci.high) == (alone.low, alone.high) and ci.kind == "bootstrap"
    assert [ci.kind for ci in mean_intervals(groups)][4:] == ["range", ""]
    pairs = [(groups[0], groups[1]), (groups[2], groups[3]), (groups[1], groups[3]), (groups[0], groups[4])]
    for (a, b), ci in zip(pairs, difference_intervals(pairs)):
        assert ci == difference_interval(a, b)
    assert difference_intervals(pairs)[3].kind == "range"
