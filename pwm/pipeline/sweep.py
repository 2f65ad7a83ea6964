"""The sweep: what the config asks for, expanded into runs.

A run's identity is (task, size, dynamics variant, seed). The workflow builds its DAG from
`Sweep.runs()` and the aggregation labels its tables with the same identities, so both sides
agree on variant names and on which checkpoint epochs exist without reading any run folder.

The config has already passed the JSON schema (types, bounds, enums, unknown keys); the checks
here are the ones a static schema cannot make: task and size names against the registries of
the installed `pwm` package, and duplicate variants.
"""
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

# Keys the workflow sets itself for every run; a user override of them would silently fork a
# run away from its folder name or its budget.
RESERVED_OVERRIDES = frozenset({
    "run_dir", "task", "size", "seed", "epochs", "checkpoint_every", "device", "out", "threads",
    "dynamics.kind", "dynamics.integrator", "dynamics.substeps",
})

_SIZE_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9}
_VARIANT_NAME = re.compile(r"^(?:mlp|flow-(?P<integrator>[a-z]+)-k(?P<substeps>[1-9]\d*))$")


def size_value(name: str) -> float:
    """Nominal parameter count of a size preset name such as 48M (for ordering)."""
    return float(name[:-1]) * _SIZE_UNITS[name[-1]]


class SweepConfigError(ValueError):
    """The sweep config asks for something that does not exist; the message names key and value."""


def check_schema(config: Mapping, schema: Mapping) -> None:
    """The first schema violation as one line naming the key (Snakemake's own message prints the
    whole schema and config); raises SweepConfigError."""
    import jsonschema

    relevance = jsonschema.exceptions.by_relevance(weak=frozenset({"anyOf", "oneOf", "const"}))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(dict(config)),
                                             key=relevance)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "the top level"
        raise SweepConfigError(f"at {where}: {error.message}")


@dataclass(frozen=True, order=True)
class Variant:
    """A dynamics variant: the MLP baseline, or flow matching with an integrator and K substeps."""

    kind: str
    integrator: str | None = None
    substeps: int | None = None

    @property
    def name(self) -> str:
        """Folder and table name: `mlp` or `flow-{integrator}-k{K}`, as pwm-train reports it."""
        return "mlp" if self.kind == "mlp" else f"flow-{self.integrator}-k{self.substeps}"

    def overrides(self) -> list[str]:
        """The pwm-train / pwm-preflight arguments that select this variant."""
        if self.kind == "mlp":
            return ["dynamics.kind=mlp"]
        return ["dynamics.kind=flow", f"dynamics.integrator={self.integrator}",
                f"dynamics.substeps={self.substeps}"]

    @classmethod
    def parse(cls, name: str) -> "Variant":
        """Inverse of `name` (tables carry only the name)."""
        match = _VARIANT_NAME.match(name)
        if match is None:
            raise ValueError(f"not a dynamics variant name: {name!r} (expected mlp or flow-<integrator>-k<K>)")
        if name == "mlp":
            return cls("mlp")
        return cls("flow", match["integrator"], int(match["substeps"]))


@dataclass(frozen=True)
class Budget:
    """Training length of one size: epochs, the checkpoint interval and extra trainer overrides."""

    epochs: int
    checkpoint_every: int
    overrides: Mapping[str, object]

    def checkpoint_epochs(self) -> list[int]:
        return checkpoint_epochs(self.epochs, self.checkpoint_every)


@dataclass(frozen=True)
class Run:
    task: str
    size: str
    variant: Variant
    seed: int

    def identity(self) -> dict:
        return {"task": self.task, "size": self.size, "variant": self.variant.name, "seed": self.seed}


def checkpoint_epochs(epochs: int, every: int) -> list[int]:
    """Epochs at which pwm-train saves weights: every `every` epochs, and always the last one."""
    return sorted({*range(every, epochs + 1, every), epochs})


def expand_variants(entries: Iterable[Mapping]) -> list[Variant]:
    """One variant per (flow entry, substeps value); `{kind: mlp}` is the baseline."""
    variants = []
    for entry in entries:
        if entry["kind"] == "mlp":
            variants.append(Variant("mlp"))
        else:
            variants += [Variant("flow", entry["integrator"], k) for k in entry["substeps"]]
    seen = set()
    for v in variants:
        if v in seen:
            raise SweepConfigError(f"dynamics: variant {v.name} is listed more than once")
        seen.add(v)
    return variants


def check_allowed(key: str, values: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise SweepConfigError(
            f"{key}: unknown value(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")


def check_overrides(key: str, overrides: Mapping[str, object]) -> None:
    reserved = sorted(set(overrides) & RESERVED_OVERRIDES)
    if reserved:
        raise SweepConfigError(
            f"{key}: {', '.join(reserved)} cannot be set here, the workflow sets it for every run "
            "(tasks, sizes, seeds, dynamics and budgets choose those values; resources.<rule>.gpu the device)")


def hydra_value(value) -> str:
    """A config scalar as Hydra's override grammar reads it (YAML booleans are lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def override_args(*mappings: Mapping[str, object]) -> str:
    """Shell-quoted `key=value` arguments; later mappings win on the same key."""
    merged: dict[str, object] = {}
    for mapping in mappings:
        merged.update(mapping)
    return " ".join(shlex.quote(f"{k}={hydra_value(v)}") for k, v in merged.items())


def alternation(values: Iterable) -> str:
    """A regex matching exactly one of `values` (for Snakemake wildcard constraints)."""
    return "|".join(re.escape(str(v)) for v in values)


@dataclass(frozen=True)
class Sweep:
    tasks: tuple[str, ...]
    sizes: tuple[str, ...]
    variants: tuple[Variant, ...]
    seeds: tuple[int, ...]
    budgets: Mapping[str, Budget]

    @classmethod
    def from_config(cls, config: Mapping, known_tasks: Iterable[str], known_sizes: Iterable[str]) -> "Sweep":
        """Build from a schema-validated config; raises SweepConfigError naming the bad value."""
        check_allowed("tasks", config["tasks"], known_tasks)
        check_allowed("sizes", config["sizes"], known_sizes)
        check_overrides("train_overrides", config["train_overrides"])
        budgets = {}
        for size in config["sizes"]:
            b = config["budgets"][size]
            check_overrides(f"budgets.{size}.overrides", b["overrides"])
            budgets[size] = Budget(b["epochs"], b["checkpoint_every"], dict(b["overrides"]))
        variants = tuple(expand_variants(config["dynamics"]))
        if not any(v.kind == "mlp" for v in variants):
            raise SweepConfigError("dynamics lists no {kind: mlp}: every flow variant is compared with the mlp "
                                   "baseline of the same task and size; add `- kind: mlp` to dynamics")
        return cls(tuple(config["tasks"]), tuple(config["sizes"]), variants, tuple(config["seeds"]), budgets)

    def runs(self) -> Iterator[Run]:
        for task in self.tasks:
            for size in self.sizes:
                for variant in self.variants:
                    for seed in self.seeds:
                        yield Run(task, size, variant, seed)


# Keys the workflow sets itself for the multi-task commands (pwm-mt-world-model, pwm-mt-policy).
MULTITASK_RESERVED_OVERRIDES = frozenset({
    "run_dir", "tasks", "task", "data", "data_task_ids", "world_model", "size", "seed", "epochs",
    "checkpoint_every", "device", "out", "finetune", "dynamics.kind", "dynamics.integrator", "dynamics.substeps",
})


@dataclass(frozen=True)
class WorldModelRun:
    """One multi-task world model: a task set at a size, dynamics variant and seed."""

    task_set: str
    tasks: tuple[str, ...]
    size: str
    variant: Variant
    seed: int

    def identity(self) -> dict:
        return {"task_set": self.task_set, "size": self.size, "variant": self.variant.name, "seed": self.seed}


@dataclass(frozen=True)
class MultiTaskSweep:
    """The `multitask` section: task sets x sizes x variants x seeds world models, each with one
    policy per task of its set. Empty when no task set is configured."""

    task_sets: Mapping[str, tuple[str, ...]]
    sizes: tuple[str, ...]
    variants: tuple[Variant, ...]
    seeds: tuple[int, ...]
    world_model: Budget
    policy: Budget
    finetune: bool
    data_dir: str
    data_task_ids: tuple[str, ...]
    random_episodes: int

    @classmethod
    def from_config(cls, config: Mapping, known_tasks: Iterable[str], known_sizes: Iterable[str]) -> "MultiTaskSweep":
        mt = config["multitask"]
        known_tasks = list(known_tasks)
        for name, tasks in mt["task_sets"].items():
            check_allowed(f"multitask.task_sets.{name}", tasks, known_tasks)
        check_allowed("multitask.sizes", mt["sizes"], known_sizes)
        stages = {}
        for stage in ("world_model", "policy"):
            s = mt[stage]
            reserved = sorted(set(s["overrides"]) & MULTITASK_RESERVED_OVERRIDES)
            if reserved:
                raise SweepConfigError(f"multitask.{stage}.overrides: {', '.join(reserved)} cannot be set here, "
                                       "the workflow sets it for every multi-task job")
            stages[stage] = Budget(s["epochs"], s["checkpoint_every"], dict(s["overrides"]))
        data = mt["data"]
        return cls({k: tuple(v) for k, v in mt["task_sets"].items()}, tuple(mt["sizes"]),
                   tuple(expand_variants(mt["dynamics"])), tuple(mt["seeds"]), stages["world_model"],
                   stages["policy"], bool(mt["policy"]["finetune"]), data["dir"], tuple(data["task_ids"]),
                   data["random_episodes"])

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task of every set, each once, in first-seen order."""
        return tuple(dict.fromkeys(t for tasks in self.task_sets.values() for t in tasks))

    def world_models(self) -> Iterator[WorldModelRun]:
        for name, tasks in self.task_sets.items():
            for size in self.sizes:
                for variant in self.variants:
                    for seed in self.seeds:
                        yield WorldModelRun(name, tasks, size, variant, seed)

    def policies(self) -> Iterator[tuple[WorldModelRun, str]]:
        for wm in self.world_models():
            for task in wm.tasks:
                yield wm, task
