"""pwm-status on the sweep's own (validated) config -> status.html and status.md."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

from pwm.status import plan, report
from pwm.status.cli import write
from pwm.status.layout import Layout

built = report.build(Layout.of(Path("results")), plan.planned_runs(snakemake.config),
                     plan.analysis_settings(snakemake.config))
write(built, Path(snakemake.output.html).parent)
