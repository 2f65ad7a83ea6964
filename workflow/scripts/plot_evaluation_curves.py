"""Evaluated return of every checkpoint for one task (results/report/{task}/evaluation_curves.svg)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from pwm.report import plots

evaluations = pd.read_parquet(snakemake.input.evaluations)
figure = plots.evaluation_curves(evaluations, snakemake.wildcards.task)
plots.save(figure, snakemake.output[0])
