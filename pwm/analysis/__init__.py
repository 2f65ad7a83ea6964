"""Sweep bookkeeping and analysis for the Snakemake pipeline (workflow/).

The workflow's rules stay thin: the DAG logic they need (expanding the sweep config into runs,
checkpoint epochs, trainer overrides) and everything that turns run folders into tables and
figures live here, as plain functions that the unit tests exercise without Snakemake.

Modules: `sweep` (config -> runs), `runs` (reading run folders), `stats` (bootstrap intervals),
`leaderboard` (per-configuration ranking and status counts), `aggregate` (writes
results/metrics/*.parquet), `schemas` (their documented columns), `plots` and `tables` (report).
"""
