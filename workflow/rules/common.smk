# All DAG logic: config validation, wildcard constraints, paths and the input/param/resource
# functions the rules call. The Python behind it lives in pwm.analysis.sweep (unit-tested).
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from pwm.analysis.sweep import Sweep, SweepConfigError, Variant, alternation, override_args
from pwm.envs import TASKS
from pwm.presets import SIZES


validate(config, schema="../schemas/config.schema.yaml")

try:
    SWEEP = Sweep.from_config(config, known_tasks=TASKS, known_sizes=SIZES)
except SweepConfigError as err:
    raise WorkflowError(f"Invalid config: {err}") from None


wildcard_constraints:
    task=alternation(SWEEP.tasks),
    size=alternation(SWEEP.sizes),
    variant=alternation(v.name for v in SWEEP.variants),
    seed=r"\d+",
    epoch=r"[1-9]\d*",


# The run folder holds pwm-train's resumable state; it is passed as a param, never declared as
# an output, because Snakemake deletes the outputs of a failed job (and so the state to resume).
RUN_DIR = "results/runs/{task}/{size}/{variant}/seed{seed}"
EVALUATION = "results/evaluations/{task}/{size}/{variant}/seed{seed}/epoch{epoch}.parquet"


def run_dir(wildcards):
    return RUN_DIR.format(**wildcards)


def variant_args(wildcards):
    """pwm command-line arguments selecting the dynamics variant named by the wildcard."""
    return " ".join(Variant.parse(wildcards.variant).overrides())


def budget(key):
    """A per-size budget value (epochs, checkpoint_every) as a param function."""

    def get(wildcards):
        return getattr(SWEEP.budgets[wildcards.size], key)

    return get


def gpus(rule):
    def get(wildcards):
        return config["resources"][rule]["gpu"][wildcards.size]

    return get


def scaled_resource(rule, key):
    """Per-size mem_mb or runtime of `rule`, times the attempt: a job that ran out of memory
    or time is resubmitted (--retries) with twice, then three times, the first request."""

    def get(wildcards, attempt):
        return config["resources"][rule][key][wildcards.size] * attempt

    return get


def device_args(rule):
    """device=cuda when the rule's jobs of this size get a GPU; the pwm default (cpu) otherwise."""

    def get(wildcards):
        return "device=cuda" if gpus(rule)(wildcards) > 0 else ""

    return get


def trainer_overrides(rule):
    """train_overrides, then the size's own overrides, then the device: pwm-train key=value args."""

    def get(wildcards):
        device = {"device": "cuda"} if gpus(rule)(wildcards) > 0 else {}
        return override_args(config["train_overrides"], SWEEP.budgets[wildcards.size].overrides, device)

    return get


def checkpoint_path(wildcards):
    return f"{run_dir(wildcards)}/checkpoints/epoch_{int(wildcards.epoch):06d}.pt"


def evaluation_files(run):
    epochs = SWEEP.budgets[run.size].checkpoint_epochs()
    return [EVALUATION.format(**run.identity(), epoch=epoch) for epoch in epochs]


def training_finished(run):
    return os.path.exists(f"{RUN_DIR.format(**run.identity())}/final/status.json")


def aggregated_runs():
    """(run, its evaluation files) for every planned run. With report_scope=finished, runs that
    have not finished training contribute no evaluations, so aggregating starts no training."""
    everything = config["report_scope"] == "all"
    return [(run, evaluation_files(run) if everything or training_finished(run) else []) for run in SWEEP.runs()]


AGGREGATED = aggregated_runs()


def aggregate_evaluations(wildcards):
    return [path for _, paths in AGGREGATED for path in paths]


def aggregate_live_files(wildcards):
    """With report_scope=finished, the live status and metrics of unfinished runs are inputs too,
    so that the next invocation re-aggregates when they change."""
    if config["report_scope"] == "all":
        return []
    live = []
    for run, paths in AGGREGATED:
        folder = RUN_DIR.format(**run.identity())
        if not paths:
            live += [p for p in (f"{folder}/status.json", f"{folder}/metrics.parquet") if os.path.exists(p)]
    return live


def aggregate_records(wildcards):
    """One record per planned run for pwm.analysis.aggregate."""
    return [
        {**run.identity(), "run_dir": RUN_DIR.format(**run.identity()),
         "epochs": SWEEP.budgets[run.size].epochs, "evaluations": paths}
        for run, paths in AGGREGATED
    ]


def final_targets():
    """What a plain `snakemake` builds: the metrics tables, the report tables and every figure."""
    figures = [rules.plot_learning_curves, rules.plot_evaluation_curves, rules.plot_substeps, rules.plot_size_scaling]
    return [
        *rules.aggregate.output,
        *rules.render_tables.output,
        *rules.status_report.output,
        *expand([rule.output[0] for rule in figures], task=SWEEP.tasks),
    ]
