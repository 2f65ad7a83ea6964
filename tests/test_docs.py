"""config/README.md documents every config key of the schema and every column of the outputs."""
import re

import yaml

from pwm.results.schemas import TABLES
from pwm.presets import SIZES
from workflow_helpers import REPO

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
README = (REPO / "config" / "README.md").read_text()
DOCUMENTED = set(re.findall(r"`([^`]+)`", README))


def _resolve(node: dict) -> dict:
    if "$ref" in node:
        target = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def key_paths(node: dict, prefix: str = "") -> list[str]:
    """Documented names of every leaf key: `dynamics[].kind`, `budgets.<size>.epochs`, ..."""
    node = _resolve(node)
    if node.get("type") == "array" and "properties" in _resolve(node["items"]):
        item = _resolve(node["items"])
        properties = {**item["properties"], **item.get("then", {}).get("properties", {})}
        return [p for name, sub in properties.items() for p in key_paths(sub, f"{prefix}[].{name}")]
    properties = node.get("properties", {})
    if not properties:
        return [prefix]
    if set(properties) == set(SIZES):
        return key_paths(next(iter(properties.values())), f"{prefix}.<size>")
    return [p for name, sub in properties.items() for p in key_paths(sub, f"{prefix}.{name}" if prefix else name)]


def test_every_config_key_is_documented():
    paths = key_paths(SCHEMA)
    assert {"tasks", "dynamics[].substeps", "budgets.<size>.epochs", "resources.train.mem_mb.<size>"} <= set(paths)
    assert [p for p in paths if p not in DOCUMENTED] == []


def test_schema_sizes_are_the_presets_of_the_package():
    assert set(SCHEMA["properties"]["budgets"]["properties"]) == set(SIZES)


def test_every_output_column_is_documented():
    for table, columns in TABLES.items():
        assert f"`{table}.parquet`" in README
        for column in columns:
            assert f"`{column}`" in README, f"{table}.{column}"
