"""Which jobs failed and why: training runs (their own log, else their SLURM log), preflights
that failed and have not passed since, and jobs of other rules that the latest Snakemake
invocations report as failed. The causes are read by pwm.results.failures."""
from pathlib import Path

from pwm.pipeline.sweep import Run
from pwm.results.failures import Failure, log_failure, snakemake_errors
from pwm.pipeline.layout import Layout

SNAKEMAKE_LOGS = 5  # newest Snakemake invocations searched for failed jobs of other rules
RUN_RULES = ("train", "preflight")  # their failures are found per run, from the run's own logs


def run_failure(layout: Layout, run: Run) -> Failure | None:
    """The failure at the end of the run's training log, else of its newest SLURM log."""
    failure = log_failure(layout.train_log(run))
    if failure is None:
        wildcards = [run.task, run.size, run.variant.name, str(run.seed)]
        for log in layout.slurm_logs("train", wildcards)[:1]:
            failure = log_failure(log)
    return failure


def preflight_failures(layout: Layout) -> dict[tuple[str, str, str], Failure]:
    """Configurations (task, size, variant) whose preflight failed and has not passed since."""
    failed = {}
    for task, size, variant, log in layout.preflight_logs():
        if not layout.preflight_output(task, size, variant).exists():
            failure = log_failure(log)
            if failure is not None:
                failed[(task, size, variant)] = failure
    return failed


def job_failures(layout: Layout) -> list[tuple[str, Failure]]:
    """Jobs of other rules (evaluate, aggregate, ...) that the newest Snakemake invocations report
    as failed and whose outputs are still missing (a job that has since succeeded is no failure)."""
    found, seen = [], set()
    for path in layout.snakemake_logs(SNAKEMAKE_LOGS):
        for error in snakemake_errors(path.read_text(errors="replace")):
            if error.rule in RUN_RULES or error.logs in seen:
                continue
            seen.add(error.logs)
            if error.outputs and all((layout.workdir / out).exists() for out in error.outputs):
                continue
            log = error.logs[0] if error.logs else ""
            failure = log_failure(layout.workdir / log) if log else None
            found.append((_job_name(error.rule, log) or f"{error.rule} job {error.external_jobid}", failure or Failure(
                "unknown", f"Snakemake reports rule {error.rule} failed; its log has no traceback", "", log)))
    return found


def _job_name(rule: str, log: str) -> str:
    """`evaluate cartpole-swingup/1M/mlp/seed1/epoch50` from the job's log path (the workflow
    logs rule X to logs/X/<wildcards>.log); the log path itself when it is laid out otherwise."""
    parts = Path(log).with_suffix("").parts
    for i in range(len(parts) - 2):
        if parts[i:i + 2] == ("logs", rule):
            return f"{rule} {'/'.join(parts[i + 2:])}"
    return f"{rule} {log}" if log else ""
