"""Failure causes read from logs: the last traceback or SLURM's kill line, attempts that were
resumed afterwards ignored, and identical failures grouped."""
from pwm.results.failures import (SHOWN, Failure, from_reason, group, last_failure, log_failure,
                                 snakemake_errors)

CHAINED = """Traceback (most recent call last):
  File "/work/main/pwm/checkpoint.py", line 20, in load
    return torch.load(path)
EOFError: Ran out of input

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/work/main/pwm/cli.py", line 47, in train_main
    return Trainer(cfg, log=_log).run(run)
  File "/work/main/pwm/trainer.py", line 151, in run
    state = checkpoint.load_newest_readable(run.state, self.device, self.log)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
RuntimeError: no readable state in results/runs/x/state: truncated file
"""
SYNTAX = """Traceback (most recent call last):
  File "/venv/bin/pwm-train", line 5, in <module>
    from pwm.cli import train_main
  File "/work/main/pwm/cli.py", line 12
    def train_main(:
                   ^
SyntaxError: invalid syntax
"""
PROGRESS = "epoch 40/100 env_steps 10240 last episode return 12.0 wall 60s\n"


def test_the_final_exception_of_a_chained_traceback_and_its_innermost_frame():
    assert last_failure("starting\n" + CHAINED, "x.log") == Failure(
        "RuntimeError", "no readable state in results/runs/x/state: truncated file", "/work/main/pwm/trainer.py:151",
        "x.log")


def test_a_syntax_error_points_at_the_file_and_line_that_does_not_parse():
    failure = last_failure(SYNTAX, "x.log")
    assert (failure.exception, failure.message, failure.origin) == ("SyntaxError", "invalid syntax",
                                                                   "/work/main/pwm/cli.py:12")


def test_an_exception_without_a_message():
    text = 'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nKeyboardInterrupt\n'
    failure = last_failure(text, "x")
    assert (failure.exception, failure.message, failure.origin) == ("KeyboardInterrupt", "", "a.py:1")


def test_a_failure_followed_by_training_progress_belongs_to_a_resumed_attempt():
    assert last_failure(CHAINED + "resumed from epoch 40 of 100\n" + PROGRESS, "x") is None
    assert last_failure(PROGRESS * 3, "x") is None
    assert last_failure(PROGRESS + CHAINED, "x").exception == "RuntimeError"


def test_slurm_kills_are_failures_and_the_later_of_kill_and_traceback_wins():
    oom = ("slurmstepd: error: Detected 1 oom_kill event in StepId=123.batch. "
           "Some of the step tasks have been OOM Killed.\n")
    timeout = "slurmstepd: error: *** JOB 124 ON node03 CANCELLED AT 2024-11-19T10:00:00 DUE TO TIME LIMIT ***\n"
    cancelled = "slurmstepd: error: *** JOB 125 ON node04 CANCELLED AT 2024-11-19T10:00:00 ***\n"
    assert last_failure(PROGRESS + oom, "s.log") == Failure(
        "SLURM OUT_OF_MEMORY", "killed by SLURM: the job exceeded its memory request", "", "s.log")
    assert last_failure(CHAINED + timeout, "s.log") == Failure(
        "SLURM TIMEOUT", "cancelled by SLURM due to time limit", "node03", "s.log")
    assert last_failure(cancelled, "s.log").exception == "SLURM CANCELLED"
    assert last_failure(oom + CHAINED, "s.log").exception == "RuntimeError"


def test_only_the_tail_of_a_long_log_is_read(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(PROGRESS * 20_000 + CHAINED)  # ~1.3 MB of progress lines, then the crash
    assert log_failure(log).exception == "RuntimeError"
    assert log_failure(tmp_path / "missing.log") is None


def test_a_status_reason_becomes_a_failure_when_the_log_says_nothing():
    assert from_reason("ValueError: bad shape (3, 4)", "status.json") == Failure(
        "ValueError", "bad shape (3, 4)", "", "status.json")


def test_snakemake_error_blocks_give_rule_logs_outputs_and_slurm_job():
    text = ("[Tue Nov 19 10:00:00 2024]\nError in rule evaluate:\n    jobid: 12\n"
            "    input: results/runs/a/checkpoints/epoch_000050.pt\n"
            "    output: results/evaluations/a/epoch50.parquet\n"
            "    log: results/logs/evaluate/a/epoch50.log (check log file(s) for error details)\n"
            "    shell:\n        pwm-eval ...\n        (command exited with non-zero exit code)\n"
            "    external_jobid: 4711\n\nError in rule aggregate:\n    jobid: 13\nShutting down\n")
    errors = snakemake_errors(text)
    assert [(e.rule, e.logs, e.outputs, e.external_jobid) for e in errors] == [
        ("evaluate", ("results/logs/evaluate/a/epoch50.log",), ("results/evaluations/a/epoch50.parquet",), "4711"),
        ("aggregate", (), (), ""),
    ]


def test_identical_failures_are_one_group_largest_first():
    module = Failure("ModuleNotFoundError", "No module named 'envs'", "train.py:18", "")
    runs = [f"mt30/48M/v{i}/seed1" for i in range(SHOWN + 2)]
    groups = group([("r0", Failure("ValueError", "x", "", "r0.log")),
                    *[(run, Failure(*module.key, module.origin, f"{run}.log")) for run in runs]])
    assert [(g.failure.key, len(g.subjects)) for g in groups] == [(module.key, SHOWN + 2), (("ValueError", "x"), 1)]
    assert groups[0].affected() == ", ".join(runs[:SHOWN]) + " and 2 more"
    assert groups[0].logs == tuple(f"{run}.log" for run in runs) and groups[0].origins == ("train.py:18",)
