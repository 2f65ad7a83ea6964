"""pwm-status on the sweep's own (validated) config -> status.html and status.md."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from pwm.pipeline import plan
from pwm.report import page
from pwm.report.cli import write
from pwm.pipeline.layout import Layout

built = page.build(Layout.of(Path("results")), plan.planned_runs(snakemake.config),
                     plan.analysis_settings(snakemake.config))
write(built, Path(snakemake.output.html).parent)
