"""Planned multi-task policies and their evaluations -> results/metrics/multitask*.parquet."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import time

import pandas as pd

from pwm.report.multitask import aggregate_multitask

tables = aggregate_multitask(snakemake.params.records, pd.read_parquet(snakemake.input.runs),
                             dict(snakemake.output.items()), snakemake.params.analysis, time.time())
print(tables["summary"].to_string(index=False), file=sys.stderr)
