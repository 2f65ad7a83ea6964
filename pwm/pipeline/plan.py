"""What the sweep config asks for: every planned run with its epochs, and the analysis settings.

With the config, runs that have not started count as pending, so the totals are the sweep's
and not only what happens to be on disk. Variants are expanded by pwm.pipeline.sweep, the same
code that builds the workflow's DAG, so run names agree with the folders the pipeline makes.
"""
from collections.abc import Mapping
from pathlib import Path

import yaml

from pwm.pipeline.sweep import Run, expand_variants

# The defaults of the `analysis` block of workflow/schemas/config.schema.yaml (a test keeps the
# two in step); a config's own `analysis` block overrides them.
ANALYSIS_DEFAULTS = {"confidence_level": 0.95, "bootstrap_resamples": 10000, "collapse_drop": 0.5,
                     "stale_after_minutes": 60}


def load_config(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text()) or {}


def planned_runs(config: Mapping) -> dict[Run, int]:
    """Every run of the sweep with its planned epochs (budgets.<size>.epochs)."""
    variants = expand_variants(config["dynamics"])
    return {Run(task, size, variant, seed): int(config["budgets"][size]["epochs"])
            for task in config["tasks"] for size in config["sizes"]
            for variant in variants for seed in config["seeds"]}


def analysis_settings(config: Mapping | None) -> dict:
    """Confidence level, bootstrap resamples, collapse threshold and staleness limit."""
    settings = dict(ANALYSIS_DEFAULTS)
    settings.update({k: v for k, v in ((config or {}).get("analysis") or {}).items() if k in ANALYSIS_DEFAULTS})
    return settings
