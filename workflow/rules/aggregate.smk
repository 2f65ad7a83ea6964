# All runs (finished or not) and their evaluations into results/metrics/*.parquet, with the
# leaderboard and the status counts. Columns: pwm/results/schemas.py and config/README.md.
rule aggregate:
    input:
        evaluations=aggregate_evaluations,
        live=aggregate_live_files,
    output:
        training="results/metrics/training.parquet",
        evaluations="results/metrics/evaluations.parquet",
        runs="results/metrics/runs.parquet",
        leaderboard="results/metrics/leaderboard.parquet",
        status="results/metrics/status.parquet",
    log:
        "results/logs/aggregate.log",
    params:
        records=aggregate_records,
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/aggregate.py"
