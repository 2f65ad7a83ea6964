"""Figures and HTML tables render from the aggregate tables, including awkward sweeps."""
import numpy as np
import pandas as pd
import pytest

from pwm.pipeline import sweep
from pwm.report import plots, sections
from pwm.report.aggregate import aggregate
from workflow_helpers import SETTINGS, write_run

TASK = "Ant-v5"
VARIANTS = ["mlp", "flow-heun-k2", "flow-heun-k4", "flow-euler-k8"]


@pytest.fixture(scope="module")
def sweep_tables(tmp_path_factory):
    """Two sizes x four variants x three seeds, one diverged run, one not started."""
    root = tmp_path_factory.mktemp("sweep")
    rng = np.random.default_rng(0)
    records = []
    for size in ("5M", "48M"):
        for variant in VARIANTS:
            for seed in (1, 2, 3):
                state = "diverged" if (size, variant, seed) == ("48M", "flow-euler-k8", 3) else "completed"
                if (size, variant, seed) == ("5M", "flow-heun-k4", 3):
                    state = None
                returns = np.where(rng.random(40) < 0.3, np.nan, np.linspace(0, 500, 40) + rng.normal(0, 30, 40))
                evals = {} if state != "completed" else {
                    e: list(rng.normal(10 * e, 50, 3)) for e in (10, 20, 30, 40)}
                records.append(write_run(root, TASK, size, variant, seed, state=state, returns=returns, evals=evals))
    outputs = {name: str(root / f"{name}.parquet")
               for name in ("training", "evaluations", "runs", "leaderboard", "status")}
    return aggregate(records, outputs, SETTINGS)


@pytest.mark.parametrize("figure", ["learning_curves", "evaluation_curves", "substeps", "size_scaling"])
def test_every_figure_renders_to_svg(sweep_tables, figure, tmp_path):
    t = sweep_tables
    made = {
        "learning_curves": lambda: plots.learning_curves(t["training"], TASK, 5),
        "evaluation_curves": lambda: plots.evaluation_curves(t["evaluations"], TASK),
        "substeps": lambda: plots.substeps_figure(t["leaderboard"], TASK),
        "size_scaling": lambda: plots.size_scaling_figure(t["leaderboard"], t["runs"], TASK),
    }[figure]()
    axes = [ax for ax in made.axes if ax.get_visible() and ax.axison]
    assert len(axes) == (1 if figure == "size_scaling" else 2)  # one panel per size
    assert all(len(ax.get_legend().get_texts()) >= 2 for ax in axes)
    path = tmp_path / f"{figure}.svg"
    plots.save(made, path)
    assert path.read_text().lstrip().startswith("<?xml")


def test_curves_draw_every_seed_and_their_mean(sweep_tables):
    """Evaluation curves: per size and variant one thin line per seed with a value, then the mean."""
    figure = plots.evaluation_curves(sweep_tables["evaluations"], TASK)
    panel = figure.axes[0]
    evaluated = sweep_tables["evaluations"].query("size == '5M'").groupby("variant").seed.nunique()
    assert len(panel.lines) == sum(n + 1 for n in evaluated)
    means = [line for line in panel.lines if line.get_label().endswith("seeds)")]
    assert sorted(line.get_label() for line in means) == sorted(f"{v} (mean of {n} seeds)" for v, n in evaluated.items())


def test_figures_of_a_task_without_data_say_so(sweep_tables, tmp_path):
    figure = plots.learning_curves(sweep_tables["training"], "Hopper-v5", 5)
    assert "no training metrics yet" in [text.get_text() for text in figure.axes[0].texts]


def test_size_panels_are_ordered_by_model_size():
    assert sorted(["48M", "317M", "1M", "5M", "19M"], key=sweep.size_value) == ["1M", "5M", "19M", "48M", "317M"]


def test_findings_state_noise_as_not_distinguishable():
    common = {"task": "Ant-v5", "size": "48M", "single_seed": False, "n_collapsed": 0, "n_diverged": 0}
    board = pd.DataFrame([
        {**common, "variant": "flow-euler-k8", "kind": "flow", "n_seeds": 3, "delta_vs_mlp": 2.08,
         "delta_ci_low": -400.0, "delta_ci_high": 410.0, "delta_interval": "range of 3 seeds",
         "verdict": "not distinguishable"},
        {**common, "variant": "mlp", "kind": "mlp", "n_seeds": 4, "delta_vs_mlp": float("nan"),
         "delta_ci_low": float("nan"), "delta_ci_high": float("nan"), "verdict": "baseline"}])
    assert sections.findings(board, 0.95) == [
        "flow-euler-k8 vs mlp at 48M on Ant-v5: +2.1 [-400.0, 410.0] (range of 3 seeds; 3 vs 4 seeds) "
        "— not distinguishable."]


@pytest.mark.parametrize("count,label", [(60, "60"), (522_213, "522K"), (1_604_000, "1.6M"), (float("nan"), "?")])
def test_real_parameter_counts_are_labelled_readably(count, label):
    assert plots.count_label(count) == label
