"""All planned runs and their evaluations -> results/metrics/*.parquet."""
import sys

sys.stderr = open(snakemake.log[0], "w")

from pwm.report.aggregate import aggregate

tables = aggregate(snakemake.params.records, dict(snakemake.output.items()), snakemake.params.analysis)
print(tables["status"].to_string(index=False), file=sys.stderr)
