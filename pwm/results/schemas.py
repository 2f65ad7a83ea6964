"""Columns of the tables in results/metrics/ — the pipeline's documented output.

Each table is a mapping column -> description, in the order the columns are written. The
aggregate step writes exactly these columns (plus, for training.parquet, whatever diagnostics
pwm-train logged), and config/README.md documents the same names (a test keeps them in step).
"""
from pwm.results.health import OUTCOMES

IDENTITY = {
    "task": "task name (pwm.envs.TASKS)",
    "size": "world-model size preset (pwm.presets.SIZES)",
    "variant": "dynamics variant: mlp, or flow-{integrator}-k{substeps}",
    "seed": "training seed",
}

TRAINING = {
    **IDENTITY,
    "epoch": "epoch just finished (1-based)",
    "env_steps": "environment steps so far (all environments, counting action repeat)",
    "wall_s": "training wall time so far in seconds (summed over resumed attempts)",
    "episode_return": "mean real return of the training episodes that ended in this epoch (NaN if none)",
}  # followed by every other column pwm-train logged (namespaced diagnostics such as loss/actor)

EVALUATIONS = {
    **IDENTITY,
    "checkpoint_epoch": "epoch of the evaluated checkpoint",
    "env_steps": "environment steps of training at that checkpoint",
    "episode": "episode index within this evaluation",
    "eval_seed": "environment seed of the episode (the same set for every checkpoint and run)",
    "return": "real return of the deterministic policy over the episode",
    "length": "episode length in agent steps",
    "final": "true for the checkpoint of the last planned epoch",
}

RUNS = {
    **IDENTITY,
    "kind": "mlp or flow",
    "integrator": "euler or heun (empty for mlp)",
    "substeps": "flow substeps K (0 for mlp)",
    "outcome": "completed, running, stale (says running but silent for analysis.stale_after_minutes, or its "
               "process is gone), interrupted, diverged, failed (by status.json, or by its logs or its "
               "preflight), pending (not started) or unknown (status.json unreadable or in a state pwm-train "
               "never writes)",
    "note": "what the outcome alone does not say: why stale, where it diverged, which file is unreadable",
    "reason": "why the run stopped, from status.json (empty when it did not stop)",
    "epoch": "last epoch reached",
    "epochs": "planned epochs",
    "progress": "epoch / epochs",
    "env_steps": "environment steps reached",
    "wall_s": "training wall time so far in seconds",
    "cpu_s": "CPU seconds of the trainer so far, all threads and attempts (NaN for runs from before it was logged)",
    "eta_s": "seconds still needed at the pace of the last 200 epochs (running runs only)",
    "current_return": "the latest logged training return",
    "current_epoch": "epoch of current_return",
    "first10_return": "mean of the first 10 logged training returns",
    "peak_return": "highest logged training return (optimistic: a maximum over noisy episodes)",
    "peak_epoch": "epoch of peak_return",
    "final10_return": "mean of the last 10 logged training returns",
    "collapsed": "final10_return gave back more than analysis.collapse_drop of the gain from first10 to the "
                 "peak 10-return mean, by more than 4 standard errors (pwm/results/health.py)",
    "smoothed_peak": "the collapse rule's peak: highest mean of 10 consecutive logged returns",
    "smoothed_peak_epoch": "epoch in the middle of that window",
    "diverged_at_epoch": "epoch at which a loss went non-finite (diverged runs)",
    "diverged_loss": "the loss that went non-finite (diverged runs)",
    "evaluated_checkpoints": "number of checkpoints with an evaluation",
    "best_eval_return": "highest mean evaluated return over the run's checkpoints (selection-biased)",
    "best_eval_epoch": "checkpoint epoch of best_eval_return",
    "final_eval_return": "mean evaluated return of the final checkpoint (what the leaderboard ranks)",
    "latest_eval_epoch": "the newest evaluated checkpoint",
    "latest_eval_return": "its mean evaluated return",
    "latest_delta_vs_mlp": "latest_eval_return minus the mean of the mlp seeds (same task and size) at that checkpoint",
    "baseline_seeds": "mlp seeds evaluated at that checkpoint",
    "params_world_model": "parameters of the world model (encoder, dynamics, reward head)",
    "params_total": "parameters of world model, actor and critics",
    "host": "host of the last trainer process",
    "slurm_job_id": "SLURM job of the last trainer process (empty outside SLURM)",
    "device": "the trainer's device (cpu, cuda, cuda:N)",
    "precision": "what the updates computed in, fp32 or bf16 (agent.precision, auto resolved on the trainer's machine)",
    "max_rss_mb": "peak resident memory of the last trainer process in MB, when it last wrote status.json",
    "updated": "time status.json was last written",
    "heartbeat_age_s": "seconds since the last sign of life (status.json or metrics.parquet written)",
    "run_dir": "the run folder",
}

LEADERBOARD = {
    "task": "task name",
    "rank": "rank within the task by eval_return (1 = best; empty without an evaluated final checkpoint)",
    "size": "size preset",
    "variant": "dynamics variant",
    "kind": "mlp or flow",
    "integrator": "euler or heun (empty for mlp)",
    "substeps": "flow substeps K (0 for mlp)",
    "n_runs": "runs planned (one per seed)",
    "n_seeds": "seeds with an evaluated final checkpoint",
    "single_seed": "true when n_seeds < 2: no interval and no verdict",
    "eval_return": "mean over seeds of the final checkpoint's mean evaluated return",
    "eval_ci_low": "lower bound of the interval of eval_return",
    "eval_ci_high": "upper bound of the interval of eval_return",
    "eval_interval": "what the bounds are: a percentile bootstrap over 5 or more seeds, else the range of the seeds",
    "delta_vs_mlp": "eval_return minus that of the mlp baseline of the same task and size",
    "delta_ci_low": "lower bound of the interval of delta_vs_mlp",
    "delta_ci_high": "upper bound of the interval of delta_vs_mlp",
    "delta_interval": "a bootstrap with 5 or more seeds on each side, else the range of all seed-to-seed differences",
    "verdict": "better / worse (interval excludes 0), not distinguishable, too few seeds, baseline, no baseline",
    "best_eval_return": "mean over seeds of the best checkpoint's evaluated return (diagnostic, optimistic)",
    "peak_return": "mean over seeds of peak training return (diagnostic, optimistic)",
    "final10_return": "mean over seeds of the final-10 training return (diagnostic)",
    "train_hours": "mean training wall-clock hours per run",
    "cpu_hours": "CPU-hours of all its runs' trainers (all threads)",
    "gpu_hours": "wall-clock hours of its runs that trained on a GPU",
    "return_per_hour": "eval_return / train_hours: evaluated return bought per training hour",
    "n_diverged": "runs that diverged",
    "n_collapsed": "runs flagged collapsed",
}


STATUS = {
    "task": "task name",
    "size": "size preset",
    "variant": "dynamics variant",
    **{outcome: f"runs whose outcome is {outcome}" for outcome in OUTCOMES},
    "total": "runs planned",
    "collapsed": "runs flagged collapsed (any outcome)",
}

MULTITASK = {
    "task_set": "name of the task set (config multitask.task_sets)",
    "task": "the task of this policy",
    "size": "size preset of the multi-task world model",
    "variant": "dynamics variant of the multi-task world model",
    "seed": "seed of the world model and its policies",
    "outcome": "outcome of the policy's training (as in runs.parquet)",
    "reason": "why the policy's training stopped, from status.json (empty when it did not stop)",
    "final_eval_return": "mean evaluated return of the policy's final checkpoint in the real environment",
    "normalised_score": "final_eval_return / 1,000 on dm_control (NaN on gymnasium tasks)",
    "run_dir": "the policy's run folder",
    "single_task_return": "mean over seeds of the single-task final_eval_return, same task, size and variant",
}

MULTITASK_SUMMARY = {
    "task_set": "name of the task set",
    "size": "size preset",
    "variant": "dynamics variant",
    "tasks": "tasks in the set",
    "n_seeds": "seeds whose policies all have an evaluated final checkpoint",
    "score": "mean over seeds of the normalised score averaged over the set's tasks",
    "score_ci_low": "lower bound of the bootstrap interval of score",
    "score_ci_high": "upper bound of the bootstrap interval of score",
    "single_task_seeds": "seeds of single-task runs (same size and variant) covering every task of the set",
    "single_task_score": "the same score from those single-task runs",
    "delta_vs_single_task": "score minus single_task_score",
    "delta_ci_low": "lower bound of the bootstrap interval of the difference",
    "delta_ci_high": "upper bound of the bootstrap interval of the difference",
    "verdict": "better / worse (interval excludes 0), not distinguishable, too few seeds, no single-task runs of every task",
}

TABLES = {
    "training": TRAINING,
    "evaluations": EVALUATIONS,
    "runs": RUNS,
    "leaderboard": LEADERBOARD,
    "status": STATUS,
    "multitask": MULTITASK,
    "multitask_summary": MULTITASK_SUMMARY,
}
