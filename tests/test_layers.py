"""The reporting stack's three layers import downwards only: pipeline <- results <- report."""
import ast
from pathlib import Path

import pytest

PWM = Path(__file__).resolve().parents[1] / "pwm"
ABOVE = {"pipeline": ("pwm.results", "pwm.report"), "results": ("pwm.report",), "report": ()}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer", list(ABOVE))
def test_no_module_imports_a_layer_above_its_own(layer):
    modules = sorted((PWM / layer).glob("*.py"))
    assert modules
    upward = {f"{m.name}: {name}" for m in modules for name in imported(m)
              if any(name == up or name.startswith(up + ".") for up in ABOVE[layer])}
    assert not upward


def test_collecting_run_data_does_not_import_matplotlib():
    for module in sorted((PWM / "results").glob("*.py")) + sorted((PWM / "pipeline").glob("*.py")):
        assert not any(name.startswith("matplotlib") for name in imported(module)), module.name
