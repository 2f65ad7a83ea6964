"""The multi-task scores and per-task returns as an HTML page for the report."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

import pandas as pd

from pwm.report import page, render, sections

body = sections.multitask(pd.read_parquet(snakemake.input.summary), pd.read_parquet(snakemake.input.multitask),
                          snakemake.params.analysis["confidence_level"])
Path(snakemake.output[0]).write_text(render.html(page.Report("Multi-task", "", body, [])))
