"""The pipeline's tables (what `snakemake --report` shows) and the pwm-status page, built from
the same results, agree on every run's outcome, every running run's ETA and the leaderboard."""
import numpy as np
import pandas as pd

from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import Run, Variant
from pwm.report import page, sections
from pwm.report.aggregate import aggregate
from workflow_helpers import SETTINGS, write_run

TASK, SIZE, EPOCHS = "cartpole-swingup", "1M", 400


def test_snakemake_tables_and_status_page_agree(tmp_path):
    results = tmp_path / "results"
    records = []
    for seed, (base, flow) in enumerate([(100.0, 300.0), (120.0, 310.0), (90.0, 280.0)], start=1):
        records.append(write_run(results, TASK, SIZE, "mlp", seed, epochs=EPOCHS, evals={EPOCHS: [base]}))
        records.append(write_run(results, TASK, SIZE, "flow-heun-k2", seed, epochs=EPOCHS, evals={EPOCHS: [flow]}))
    # running runs whose pace changed: the whole-run pace and the recent pace give different ETAs
    pace = np.concatenate([np.full(100, 5.0), np.full(200, 1.0)])
    for seed in (1, 2):
        record = write_run(results, TASK, SIZE, "flow-euler-k4", seed, epochs=EPOCHS, state="running",
                           returns=np.arange(300.0))
        metrics = pd.read_parquet(f"{record['run_dir']}/metrics.parquet").assign(wall_s=np.cumsum(pace) * seed)
        metrics.to_parquet(f"{record['run_dir']}/metrics.parquet")
        records.append(record)
    records.append(write_run(results, TASK, SIZE, "flow-euler-k4", 3, epochs=EPOCHS, state=None))
    outputs = {name: str(tmp_path / "metrics" / f"{name}.parquet")
               for name in ("training", "evaluations", "runs", "leaderboard", "status")}
    tables = aggregate(records, outputs, SETTINGS)
    plan = {Run(r["task"], r["size"], Variant.parse(r["variant"]), r["seed"]): EPOCHS for r in records}
    built = page.build(Layout.of(results), plan, SETTINGS)
    shown = {s.key: s.table for s in built.sections if s.table is not None}

    runs = pd.read_parquet(outputs["runs"])
    ours = shown["experiments"].assign(variant=lambda t: np.where(
        t.integrator == "mlp", "mlp", "flow-" + t.integrator + "-k" + t.K), seed=lambda t: t.seed.astype(int))
    merged = ours.merge(runs, on=["task", "size", "variant", "seed"], suffixes=("_page", "_parquet"))
    assert len(merged) == len(runs) == 9
    assert (merged.outcome_page == merged.outcome_parquet).all()
    assert sorted(runs.outcome) == ["completed"] * 6 + ["pending"] + ["running"] * 2

    running = runs[runs.outcome == "running"].sort_values("seed")
    assert shown["running"]["ETA"].tolist() == running.eta_s.map(sections.duration).tolist()
    assert np.allclose(running.eta_s, [100 * 1.0 * s for s in (1, 2)])  # the last 200 epochs' pace

    board = pd.read_parquet(outputs["leaderboard"])
    assert board.equals(tables["leaderboard"])
    page_board = shown["leaderboard"].set_index("variant")
    for row in board.itertuples():
        assert page_board.loc[row.variant, "verdict"] == row.verdict
        assert page_board.loc[row.variant, "eval R"] == sections.interval(row.eval_return, row.eval_ci_low, row.eval_ci_high)
        assert page_board.loc[row.variant, "rank"] == ("–" if pd.isna(row.rank) else str(int(row.rank)))
