"""Training return over environment steps for one task (results/report/{task}/learning_curves.svg)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from pwm.report import plots

settings = snakemake.params.analysis
training = pd.read_parquet(snakemake.input.training)
figure = plots.learning_curves(training, snakemake.wildcards.task, settings["curve_smoothing"])
plots.save(figure, snakemake.output[0])
