"""What the sweep config asks for: every planned run with its epochs, and the analysis settings.

A config is read as Snakemake reads it: checked against the workflow's schema (the first
violation as one line naming the key) and completed with the schema's defaults, so that a
config the workflow accepts is one pwm-status accepts, with the same meaning. Variants are
expanded by pwm.pipeline.sweep, the code that builds the workflow's DAG, so run names agree with
the folders the pipeline makes.
"""
from collections.abc import Mapping
from pathlib import Path

import yaml

from pwm.envs.registry import TASKS
from pwm.pipeline.sweep import Run, Sweep, SweepConfigError, check_schema, expand_variants
from pwm.presets import SIZES

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def validated(config: Mapping) -> dict:
    """`config` checked against the workflow's schema and completed with its defaults; raises
    SweepConfigError naming the first bad key."""
    from snakemake.utils import validate  # the workflow's own validation, which fills the defaults

    if not isinstance(config, Mapping):
        raise SweepConfigError(f"a sweep config is a mapping of keys, not {type(config).__name__}")
    config = dict(config)
    check_schema(config, yaml.safe_load(SCHEMA.read_text()))
    validate(config, str(SCHEMA))
    Sweep.from_config(config, known_tasks=TASKS, known_sizes=SIZES)  # the checks a schema cannot make
    return config


def load_config(path: Path) -> dict:
    """The sweep config at `path`, validated (see `validated`); SweepConfigError when it cannot be
    read or is not valid."""
    try:
        return validated(yaml.safe_load(Path(path).read_text()) or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise SweepConfigError(f"cannot read {path}: {type(err).__name__}: {err}".splitlines()[0]) from None


def planned_runs(config: Mapping) -> dict[Run, int]:
    """Every run of the (validated) sweep with its planned epochs (budgets.<size>.epochs)."""
    variants = expand_variants(config["dynamics"])
    return {Run(task, size, variant, seed): int(config["budgets"][size]["epochs"])
            for task in config["tasks"] for size in config["sizes"]
            for variant in variants for seed in config["seeds"]}


def analysis_settings(config: Mapping | None) -> dict:
    """Confidence level, bootstrap resamples, collapse threshold and staleness limit: the
    config's `analysis` block, or the schema's defaults without a config."""
    return dict((config if config is not None else validated({}))["analysis"])
