"""Final evaluated return against model size for one task (results/report/{task}/size_scaling.svg)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from pwm.report import plots

leaderboard = pd.read_parquet(snakemake.input.leaderboard)
runs = pd.read_parquet(snakemake.input.runs)
plots.save(plots.size_scaling_figure(leaderboard, runs, snakemake.wildcards.task), snakemake.output[0])
