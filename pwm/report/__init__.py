"""Turning the runs frame into answers: the top layer of reporting.

`stats` (bootstrap intervals, verdicts), `leaderboard` and `scores` (per configuration; IQM
across tasks), `aggregate` (results/metrics/*.parquet for the Snakemake report),
`multitask`, `plots` and `figures`, `tables` (the Snakemake report's HTML tables), `sections`,
`page` and `render` (the status page), `cli` (pwm-status). The Snakemake rules and pwm-status
call the same functions, so both rank and judge configurations by the same numbers.
"""
