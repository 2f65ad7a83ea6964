"""pwm-status: the experiment status report, written from the results directory as it is.

Researchers used to write this report by hand several times a day, reading logs and eyeballing
curves; it came out late, missed collapsed runs and called single-seed noise a win. Here it is
computed from what the trainer, the evaluator, Snakemake and SLURM leave on disk, while the
sweep is still running, without writing anything into run folders.

Modules, in the order data flows through them: `layout` (where things live), `plan` (what the
sweep config asks for), `metrics` and `evaluations` (reading parquet cheaply), `failures` (a
failure's cause, from a log) and `jobs` (which jobs failed), `health` (running or stale,
collapse), `curves` (learning curves at a fixed resolution), `tasks` (suite and normaliser of a
task), `collect` (one row per run), `scores` (IQM across tasks), `sections` (the report's
tables as text), `figures`, `report` (all of it, in reading order), `render` (markdown, HTML,
terminal) and `cli`. The leaderboard, the bootstrap intervals and the verdicts come from
`pwm.analysis`, so that this report and the pipeline's report rank and judge configurations
the same way.
"""
