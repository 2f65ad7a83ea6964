"""Final evaluated return against flow substeps for one task (results/report/{task}/substeps.svg)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from pwm.report import plots

leaderboard = pd.read_parquet(snakemake.input.leaderboard)
plots.save(plots.substeps_figure(leaderboard, snakemake.wildcards.task), snakemake.output[0])
