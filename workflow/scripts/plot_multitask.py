"""Per-task returns of the multi-task policies against single-task runs (results/report/multitask.svg)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import pandas as pd

from pwm.report import plots

plots.save(plots.multitask_figure(pd.read_parquet(snakemake.input.multitask)), snakemake.output[0])
