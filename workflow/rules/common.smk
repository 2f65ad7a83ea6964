# All DAG logic: config validation, wildcard constraints, paths and the input/param/resource
# functions the rules call. The Python behind it lives in pwm.pipeline.sweep (unit-tested).
import os

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from pwm.pipeline import layout
from pwm.results.projection import projection, summary
from pwm.pipeline.sweep import MultiTaskSweep, Sweep, SweepConfigError, check_schema, Variant, alternation, override_args
from pwm.envs import TASKS
from pwm.presets import SIZES


try:
    check_schema(config, yaml.safe_load(open(workflow.source_path("../schemas/config.schema.yaml"))))
except SweepConfigError as err:
    raise WorkflowError(f"Invalid config: {err}") from None
validate(config, schema="../schemas/config.schema.yaml")  # sets the schema's defaults

try:
    SWEEP = Sweep.from_config(config, known_tasks=TASKS, known_sizes=SIZES)
    MULTITASK = MultiTaskSweep.from_config(config, known_tasks=TASKS, known_sizes=SIZES)
except SweepConfigError as err:
    raise WorkflowError(f"Invalid config: {err}") from None


# The sweep's projected cost from the preflights that have run, with a warning for every train
# job whose runtime cannot cover it (pwm.results.projection); retries as Snakemake was given them.
RETRIES = getattr(workflow.execution_settings, "retries", 0) or 0
for line in summary(projection(SWEEP, config["resources"], RETRIES), RETRIES):
    logger.warning(line)


if MULTITASK.data_dir and not os.path.isdir(MULTITASK.data_dir):
    raise WorkflowError(f"Invalid config: multitask.data.dir={MULTITASK.data_dir!r} is not a directory")


wildcard_constraints:
    task=alternation({*SWEEP.tasks, *MULTITASK.tasks}),
    size=alternation({*SWEEP.sizes, *MULTITASK.sizes}),
    variant=alternation({v.name for v in (*SWEEP.variants, *MULTITASK.variants)}),
    task_set=alternation(MULTITASK.task_sets) or "(?!)",
    seed=r"\d+",
    epoch=r"[1-9]\d*",


# The run folder holds pwm-train's resumable state; it is passed as a param, never declared as
# an output, because Snakemake deletes the outputs of a failed job (and so the state to resume).
RESULTS = "results"
RUN_DIR = f"{RESULTS}/{layout.RUN_DIR}"
# One evaluate job per run writes every checkpoint's evaluation into the run's folder (one
# cluster job per run, not one per checkpoint); pwm-eval names the files after the epochs.
EVALUATION_DIR = f"{RESULTS}/{layout.EVALUATION_DIR}"
EVALUATION = f"{EVALUATION_DIR}/epoch{{epoch}}.parquet"
TRAIN_LOG = f"{RESULTS}/{layout.TRAIN_LOG}"
PREFLIGHT = f"{RESULTS}/{layout.PREFLIGHT}"
PREFLIGHT_LOG = f"{RESULTS}/{layout.PREFLIGHT_LOG}"


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


def train_threads(wildcards):
    """CPU cores of a size's train job (and of its preflight): resources.train.threads."""
    return config["resources"]["train"]["threads"][wildcards.size]


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


def checkpoint_list(folder: str, epochs: list[int]) -> str:
    """The checkpoints of `epochs` in a run folder, as a pwm-eval list override."""
    return "[" + ",".join(f"{folder}/checkpoints/epoch_{e:06d}.pt" for e in epochs) + "]"


def checkpoint_paths(wildcards):
    return checkpoint_list(run_dir(wildcards), SWEEP.budgets[wildcards.size].checkpoint_epochs())


# One command evaluates single-task and multi-task policy checkpoints alike.
EVALUATE_SHELL = (
    "MUJOCO_GL=disable pwm-eval checkpoints={params.checkpoints:q} episodes={params.episodes}"
    " out_dir={output} {params.device} > {log} 2>&1"
)


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
    return [EVALUATION_DIR.format(**run.identity()) for run, paths in AGGREGATED if paths]


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
    """One record per planned run for pwm.report.aggregate."""
    return [
        {**run.identity(), "run_dir": RUN_DIR.format(**run.identity()),
         "epochs": SWEEP.budgets[run.size].epochs, "evaluations": paths}
        for run, paths in AGGREGATED
    ]


# Policy clips per configuration (task, size, variant), with evaluation.clips.
CLIPS_DIR = f"{RESULTS}/{layout.CLIPS_DIR}"


def configuration_checkpoints(wildcards):
    """The final checkpoints of every seed of a configuration."""
    return [f"{RUN_DIR.format(**run.identity())}/final/checkpoint.pt" for run in SWEEP.runs()
            if (run.task, run.size, run.variant.name) == (wildcards.task, wildcards.size, wildcards.variant)]


def clip_targets(wildcards):
    """clips.json of every configuration when clips are asked for and every run is reported."""
    if not (config["evaluation"]["clips"] and config["report_scope"] == "all"):
        return []
    configurations = sorted({(run.task, run.size, run.variant.name) for run in SWEEP.runs()})
    return [f"{CLIPS_DIR.format(task=t, size=s, variant=v)}/clips.json" for t, s, v in configurations]


def final_targets():
    """What a plain `snakemake` builds: the metrics tables, the status page and the figures that
    have something to compare: return vs substeps only with two values of K or more, return vs
    size only with two sizes or more, multi-task items only when task sets are configured."""
    figures = [rules.plot_evaluation_curves, rules.plot_learning_curves]
    if len({v.substeps for v in SWEEP.variants if v.kind == "flow"}) >= 2:
        figures.append(rules.plot_substeps)
    if len(SWEEP.sizes) >= 2:
        figures.append(rules.plot_size_scaling)
    multitask = [*rules.aggregate_multitask.output, *rules.render_multitask_table.output, *rules.plot_multitask.output]
    return [
        *rules.aggregate.output,
        *rules.status_report.output,
        *(multitask if MULTITASK.task_sets else []),
        *expand([rule.output[0] for rule in figures], task=SWEEP.tasks),
    ]


# --- multi-task -------------------------------------------------------------------------------
MT_ROOT = f"{RESULTS}/{layout.MT_ROOT}"
MT_WORLD_MODEL_DIR = f"{MT_ROOT}/world_model"
MT_POLICY_DIR = f"{MT_ROOT}/policy/{{task}}"
MT_EVALUATION_DIR = f"{RESULTS}/{layout.MT_EVALUATION_DIR}"
MT_EVALUATION = f"{MT_EVALUATION_DIR}/epoch{{epoch}}.parquet"
MT_DATA_FROM_RUN = "results/multitask/data/{task}/{size}-{variant}-seed{seed}.pt"
MT_DATA_RANDOM = "results/multitask/data/{task}/random.pt"


def mt_world_model_dir(wildcards):
    return MT_WORLD_MODEL_DIR.format(**wildcards)


def mt_policy_dir(wildcards):
    return MT_POLICY_DIR.format(**wildcards)


def mt_task_data(task):
    """The pipeline's own chunk files of a task: one per single-task run of the task in this
    sweep (its replay buffer), or random-policy episodes when there is none."""
    runs = [run for run in SWEEP.runs() if run.task == task]
    if runs:
        return [MT_DATA_FROM_RUN.format(**run.identity()) for run in runs]
    return [MT_DATA_RANDOM.format(task=task)]


def mt_data_files(wildcards):
    """Chunk files the world model of this task set trains on (none with multitask.data.dir)."""
    if MULTITASK.data_dir:
        return []
    return [path for task in MULTITASK.task_sets[wildcards.task_set] for path in mt_task_data(task)]


def mt_data_args(with_tasks):
    """data=[...] (and data_task_ids) for pwm-mt-policy; with tasks=[...] for pwm-mt-world-model."""

    def get(wildcards):
        data = [MULTITASK.data_dir] if MULTITASK.data_dir else mt_data_files(wildcards)
        tasks = {"tasks": list(MULTITASK.task_sets[wildcards.task_set])} if with_tasks else {}
        ids = {"data_task_ids": list(MULTITASK.data_task_ids)} if MULTITASK.data_task_ids else {}
        return override_args({**tasks, "data": data, **ids})

    return get


def mt_overrides(stage, rule):
    """The stage's overrides (multitask.world_model / .policy), then the device."""

    def get(wildcards):
        device = {"device": "cuda"} if gpus(rule)(wildcards) > 0 else {}
        return override_args(getattr(MULTITASK, stage).overrides, device)

    return get


def mt_stage(stage, key):
    def get(wildcards):
        return getattr(getattr(MULTITASK, stage), key)

    return get


def mt_policy_checkpoints(wildcards):
    return checkpoint_list(mt_policy_dir(wildcards), MULTITASK.policy.checkpoint_epochs())


def mt_policy_finished(wm, task):
    return os.path.exists(f"{MT_POLICY_DIR.format(**wm.identity(), task=task)}/final/status.json")


def mt_records():
    """One record per planned policy for pwm.report.multitask; with report_scope=finished only
    finished policies contribute evaluations (aggregating starts no training)."""
    everything = config["report_scope"] == "all"
    records = []
    for wm, task in MULTITASK.policies():
        epochs = MULTITASK.policy.checkpoint_epochs()
        evaluations = [MT_EVALUATION.format(**wm.identity(), task=task, epoch=e) for e in epochs]
        records.append({**wm.identity(), "task": task, "run_dir": MT_POLICY_DIR.format(**wm.identity(), task=task),
                        "epochs": MULTITASK.policy.epochs,
                        "evaluations": evaluations if everything or mt_policy_finished(wm, task) else []})
    return records


MT_RECORDS = mt_records()


def mt_evaluations(wildcards):
    return [MT_EVALUATION_DIR.format(**r) for r in MT_RECORDS if r["evaluations"]]
