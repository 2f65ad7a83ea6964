"""The sweep config expands into the runs, variants and checkpoint epochs the DAG is built from."""
import shlex

import pytest

from pwm.pipeline.sweep import (Sweep, SweepConfigError, Variant, checkpoint_epochs, expand_variants,
                                override_args)

CONFIG = {
    "tasks": ["Ant-v5"], "sizes": ["5M", "48M"], "seeds": [1, 2, 3],
    "dynamics": [{"kind": "mlp"}, {"kind": "flow", "integrator": "heun", "substeps": [2, 4]},
                 {"kind": "flow", "integrator": "euler", "substeps": [8]}],
    "budgets": {"5M": {"epochs": 100, "checkpoint_every": 30, "overrides": {}},
                "48M": {"epochs": 20, "checkpoint_every": 10, "overrides": {"agent.batch_size": 512}}},
    "train_overrides": {"env.num_envs": 8},
}


def test_flow_entries_expand_to_one_variant_per_substeps_value():
    names = [v.name for v in expand_variants(CONFIG["dynamics"])]
    assert names == ["mlp", "flow-heun-k2", "flow-heun-k4", "flow-euler-k8"]


def test_a_variant_listed_twice_is_rejected_by_name():
    with pytest.raises(SweepConfigError, match="flow-heun-k4 is listed more than once"):
        expand_variants([{"kind": "flow", "integrator": "heun", "substeps": [4]},
                         {"kind": "flow", "integrator": "heun", "substeps": [2, 4]}])


@pytest.mark.parametrize("name", ["mlp", "flow-heun-k2", "flow-euler-k16"])
def test_variant_names_parse_back(name):
    assert Variant.parse(name).name == name


@pytest.mark.parametrize("name", ["flow", "flow-heun-k0", "mlp-k2", "flow-heun-2"])
def test_malformed_variant_names_are_rejected(name):
    with pytest.raises(ValueError, match="not a dynamics variant name"):
        Variant.parse(name)


def test_variant_overrides_select_the_dynamics():
    assert Variant("mlp").overrides() == ["dynamics.kind=mlp"]
    assert Variant("flow", "heun", 4).overrides() == [
        "dynamics.kind=flow", "dynamics.integrator=heun", "dynamics.substeps=4"]


@pytest.mark.parametrize("epochs,every,expected", [
    (100, 30, [30, 60, 90, 100]),
    (20, 10, [10, 20]),
    (3, 5, [3]),
])
def test_checkpoint_epochs_are_the_multiples_plus_the_last_epoch(epochs, every, expected):
    assert checkpoint_epochs(epochs, every) == expected


def test_sweep_runs_are_the_full_product():
    sweep = Sweep.from_config(CONFIG, known_tasks=["Ant-v5", "Hopper-v5"], known_sizes=["5M", "48M"])
    runs = list(sweep.runs())
    assert len(runs) == 1 * 2 * 4 * 3
    assert runs[0].identity() == {"task": "Ant-v5", "size": "5M", "variant": "mlp", "seed": 1}
    assert sweep.budgets["48M"].checkpoint_epochs() == [10, 20]


@pytest.mark.parametrize("key,value,allowed", [
    ("tasks", ["Antt-v5"], "allowed: Ant-v5, Hopper-v5"),
    ("sizes", ["7M"], "allowed: 5M, 48M"),
])
def test_unknown_names_are_reported_with_the_allowed_ones(key, value, allowed):
    with pytest.raises(SweepConfigError, match=f"{key}: unknown value\\(s\\) '{value[0]}'; {allowed}"):
        Sweep.from_config({**CONFIG, key: value}, known_tasks=["Ant-v5", "Hopper-v5"], known_sizes=["5M", "48M"])


def test_overrides_of_keys_the_workflow_sets_are_rejected():
    config = {**CONFIG, "budgets": {**CONFIG["budgets"], "5M": {"epochs": 5, "checkpoint_every": 5,
                                                                  "overrides": {"seed": 3}}}}
    with pytest.raises(SweepConfigError, match="budgets.5M.overrides: seed cannot be set here"):
        Sweep.from_config(config, known_tasks=["Ant-v5"], known_sizes=["5M", "48M"])


def test_override_args_are_shell_safe_hydra_values_with_later_maps_winning():
    args = override_args({"a.b": 1, "flag": True, "name": "two words"}, {"a.b": 2})
    assert shlex.split(args) == ["a.b=2", "flag=true", "name=two words"]
