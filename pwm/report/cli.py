"""pwm-status RESULTS_DIR [--config FILE] [--out DIR]: write status.md and status.html (into
RESULTS_DIR/status by default) and print the overall table. Reads only; safe to run at any time
while the sweep is running, as often as wanted.

The report's modules (scipy, matplotlib: over a second) are imported only once the runs are
being read: on a large sweep while worker processes read the files (pwm.results.collect)."""
import argparse
import importlib
import sys
import time
from pathlib import Path

from pwm.pipeline import plan
from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import SweepConfigError
from pwm.results.collect import NothingToReport, collect


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pwm-status", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="the pipeline's results directory")
    parser.add_argument("--config", type=Path,
                        help="the sweep config (config/config.yaml): runs not started yet count as pending, "
                             "and its analysis block sets the statistics and the collapse/stale thresholds")
    parser.add_argument("--out", type=Path, help="where status.md, status.html and figures/ go "
                                                 "(default: RESULTS_DIR/status)")
    parser.add_argument("--snakemake-dir", type=Path,
                        help="the workflow's .snakemake folder, for its logs and SLURM's (default: "
                             "RESULTS_DIR/../.snakemake)")
    return parser.parse_args(argv)


def write(rendered, out: Path) -> list[Path]:
    """status.md, status.html and the figures status.md links to, of a pwm.report.page.Report."""
    from pwm.report import render
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for section in rendered.sections:
        for figure in section.figures:
            (out / "figures" / f"{figure.name}.{figure.kind}").write_bytes(figure.data)
    paths = [out / "status.md", out / "status.html"]
    paths[0].write_text(render.markdown(rendered), encoding="utf-8")
    paths[1].write_text(render.html(rendered), encoding="utf-8")
    return paths


def inside_run_folders(results: Path, out: Path) -> bool:
    runs = (results / "runs").resolve()
    return runs == out.resolve() or runs in out.resolve().parents


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or args.results / "status"
    if inside_run_folders(args.results, out):
        print(f"pwm-status: --out {out} is inside the run folders, which only pwm-train writes", file=sys.stderr)
        return 2
    try:
        config = plan.load_config(args.config) if args.config else None
    except SweepConfigError as err:
        print(f"pwm-status: --config {args.config}: {err}", file=sys.stderr)
        return 2
    planned, settings = plan.planned_runs(config) if config else {}, plan.analysis_settings(config)
    layout, now = Layout.of(args.results, args.snakemake_dir), time.time()
    try:
        snapshot = collect(layout, planned, settings, now, meanwhile=lambda: importlib.import_module("pwm.report.render"))
    except NothingToReport as err:
        print(f"pwm-status: {err}", file=sys.stderr)
        return 1
    from pwm.report import page, render  # imported during the collection
    rendered = page.of_snapshot(snapshot, layout, settings, now)
    paths = write(rendered, out)
    print(render.terminal(rendered))
    print("written: " + ", ".join(map(str, paths)))
    return 0
