"""Leaderboard, status and run tables as HTML pages for the report."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pathlib import Path

import pandas as pd

from pwm.report import tables

level = snakemake.params.analysis["confidence_level"]
pages = {
    "leaderboard": tables.leaderboard_html(pd.read_parquet(snakemake.input.leaderboard), level),
    "status": tables.status_html(pd.read_parquet(snakemake.input.status)),
    "runs": tables.runs_html(pd.read_parquet(snakemake.input.runs)),
}
for name, html in pages.items():
    Path(snakemake.output[name]).write_text(html)
