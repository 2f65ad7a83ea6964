"""The collapse rule flags a run that fell far below its own peak, and not a noisy flat one;
a "running" status is believed only while the run shows signs of life."""
import os
import subprocess
from datetime import UTC, datetime

import numpy as np

from pwm.results.health import collapse, heartbeat, running_state


def curve(values, every: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, returns) with a return logged every `every` epochs, as on dm_control."""
    epochs = np.arange(1, len(values) * every + 1)
    returns = np.full(len(epochs), np.nan)
    returns[every - 1::every] = values
    return epochs, returns


def test_the_example_reports_collapse_is_flagged_with_its_peak_epoch():
    rng = np.random.default_rng(0)
    values = np.concatenate([np.linspace(0, 1200, 100), np.linspace(1200, 20, 50), np.full(100, 20.0)])
    epochs, returns = curve(values + rng.normal(0, 30, len(values)))
    found = collapse(epochs, returns, drop=0.5)
    assert found.collapsed and abs(found.final - 20) < 20 and found.peak > 1100
    assert 5400 <= found.peak_epoch <= 6600  # the 100th logged return is at epoch 6,000


def test_a_flat_noisy_run_is_not_a_collapse_although_its_best_episode_is_far_above_the_rest():
    rng = np.random.default_rng(1)
    for _ in range(20):
        values = rng.normal(500, 150, 300)
        assert values.max() - values[-10:].mean() > 200  # what a "peak R vs final R" rule would flag
        assert not collapse(*curve(values), drop=0.5).collapsed


def test_a_run_still_learning_or_dipping_within_noise_is_not_flagged():
    rng = np.random.default_rng(2)
    rising = np.linspace(0, 900, 200) + rng.normal(0, 50, 200)
    dip = np.concatenate([np.linspace(0, 900, 150), np.full(50, 860.0)]) + rng.normal(0, 50, 200)
    assert not collapse(*curve(rising), drop=0.5).collapsed
    assert not collapse(*curve(dip), drop=0.5).collapsed


def test_too_few_logged_returns_are_not_judged():
    found = collapse(*curve(np.r_[np.full(15, 800.0), np.full(14, 0.0)]), drop=0.5)
    assert not found.collapsed and np.isnan(found.peak)


def test_the_threshold_is_the_share_of_the_gain_given_back():
    values = np.r_[np.zeros(10), np.full(20, 1000.0), np.full(10, 600.0)]  # gave back 40% of the gain
    assert not collapse(*curve(values, every=1), drop=0.5).collapsed
    assert collapse(*curve(values, every=1), drop=0.3).collapsed


def test_heartbeat_is_the_newer_of_status_update_and_metrics_write():
    status = {"updated": "2024-11-19T10:00:00+0000"}
    written = datetime(2024, 11, 19, 11, 0, tzinfo=UTC).timestamp()
    assert heartbeat(status, written) == written
    assert heartbeat(status, None) == datetime(2024, 11, 19, 10, 0, tzinfo=UTC).timestamp()


def test_a_running_status_is_stale_when_silent_or_when_its_process_is_gone_from_this_host():
    gone = subprocess.Popen(["true"])
    gone.wait()
    here = "this-host"
    assert running_state({"host": "node1", "pid": 1}, 30 * 60, 3600, here) == ("running", "")
    assert running_state({"host": "node1", "pid": 1}, 2 * 3600, 3600, here) == ("stale", "no update for 2.0 h")
    assert running_state({"host": here, "pid": os.getpid()}, 60, 3600, here) == ("running", "")
    assert running_state({"host": here, "pid": gone.pid}, 60, 3600, here) == (
        "stale", f"process {gone.pid} on {here} is gone")
