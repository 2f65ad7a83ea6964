"""A bad sweep config stops Snakemake before any job, with a message naming the key and value."""
import pytest
import yaml

from workflow_helpers import REPO, snakemake

BAD_CONFIGS = {
    "unknown task": ({"tasks": ["cartpole-swingupp"]},
                     ["tasks: unknown value(s) 'cartpole-swingupp'; allowed: Ant-v5,", "cartpole-swingup,"]),
    "unknown size": ({"sizes": ["7M"]}, ["sizes: unknown value(s) '7M'; allowed: 1M, 5M, 19M, 48M, 317M"]),
    "substeps 0": ({"dynamics": [{"kind": "mlp"}, {"kind": "flow", "integrator": "heun", "substeps": [0]}]},
                   ["Invalid config: at dynamics.1.substeps.0: 0 is less than the minimum of 1"]),
    "typo'd top-level key": ({"seed": [1, 2]}, ["Invalid config: at the top level: Additional properties are not "
                                                "allowed ('seed' was unexpected)"]),
    "typo'd nested key": ({"budgets": {"1M": {"epochz": 10}}},
                          ["Invalid config: at budgets.1M: Additional properties are not allowed ('epochz' was unexpected)"]),
    "flow without its baseline": ({"dynamics": [{"kind": "flow", "integrator": "heun", "substeps": [2]}]},
                                  ["dynamics lists no {kind: mlp}: every flow variant is compared with the mlp"]),
    "bad integrator": ({"dynamics": [{"kind": "flow", "integrator": "rk4", "substeps": [2]}]},
                       ["'rk4' is not one of ['euler', 'heun']"]),
    "options on the baseline": ({"dynamics": [{"kind": "mlp", "substeps": [2]}]},
                                ["Additional properties are not allowed ('substeps' was unexpected)"]),
    "unknown dynamics kind": ({"dynamics": [{"kind": "transformer"}]},
                              ["at dynamics.0.kind: 'transformer' is not one of ['mlp', 'flow']"]),
    "override of a key the workflow sets": ({"train_overrides": {"epochs": 3}},
                                            ["train_overrides: epochs cannot be set here"]),
    "bad report scope": ({"report_scope": "some"}, ["'some' is not one of ['all', 'finished']"]),
}


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_bad_config_is_rejected_at_dag_build_time(name, tmp_path):
    override, messages = BAD_CONFIGS[name]
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(override))
    result = snakemake("-n", "--configfile", REPO / "config" / "config.yaml", config, cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    for message in messages:
        assert message in result.stdout, result.stdout[-3000:]
    assert "Job stats" not in result.stdout  # nothing was scheduled
    assert len(result.stdout.splitlines()) < 40  # one clear line, not the whole schema and config


def test_schema_defaults_complete_a_minimal_config(tmp_path):
    """Only the sweep axes given: budgets, evaluation and resources come from the schema."""
    config = tmp_path / "minimal.yaml"
    config.write_text(yaml.safe_dump({"tasks": ["pendulum-swingup"], "sizes": ["19M"], "seeds": [7],
                                      "dynamics": [{"kind": "mlp"}, {"kind": "flow"}]}))
    result = snakemake("-n", "-p", "results/runs/pendulum-swingup/19M/flow-heun-k4/seed7/final/status.json",
                       "--configfile", config, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "dynamics.kind=flow dynamics.integrator=heun dynamics.substeps=4 seed=7 epochs=15000" in result.stdout
    assert "runtime=2880" in result.stdout and "mem_mb=16000" in result.stdout
