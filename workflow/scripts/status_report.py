"""The status page for the report, over the runs of runs.parquet (not a second plan of the
sweep) -> status.html and status.md."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

import pandas as pd

from pwm.pipeline.layout import Layout
from pwm.pipeline.sweep import Run, Variant
from pwm.report import page
from pwm.report.cli import write

runs = pd.read_parquet(snakemake.input.runs)
plan = {Run(r.task, r["size"], Variant.parse(r.variant), int(r.seed)): int(r.epochs) for _, r in runs.iterrows()}
built = page.build(Layout.of(Path("results")), plan, snakemake.params.analysis, discover=False)
write(built, Path(snakemake.output.html).parent)
