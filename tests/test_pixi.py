"""pixi.toml offers the README's commands without declaring a second set of dependencies."""
import re
import tomllib

from workflow_helpers import REPO

PIXI = tomllib.loads((REPO / "pixi.toml").read_text())
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
README = (REPO / "README.md").read_text()


def test_pixi_installs_the_project_itself_and_nothing_else():
    assert PIXI["workspace"]["name"] == PROJECT["name"]
    pypi = PIXI["pypi-dependencies"]
    assert list(pypi) == [PROJECT["name"]]
    assert pypi[PROJECT["name"]]["path"] == "." and pypi[PROJECT["name"]]["editable"] is True
    assert set(pypi[PROJECT["name"]]["extras"]) <= set(PROJECT["optional-dependencies"])
    assert list(PIXI["dependencies"]) == ["python"]  # conda provides only the interpreter
    assert not any(key.endswith("dependencies") for feature in PIXI.get("feature", {}).values() for key in feature)


def test_pixi_python_is_the_one_pyproject_requires():
    assert PIXI["dependencies"]["python"] == PROJECT["requires-python"]


def test_every_pixi_task_runs_a_tool_the_project_installs():
    installed = {re.split(r"[\[<>=~! ;]", spec, maxsplit=1)[0].lower()
                 for spec in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]}
    for name, command in PIXI["tasks"].items():
        assert command.split()[0] in installed | set(PROJECT["scripts"]) | {"python"}, name


def test_every_pixi_task_is_a_readme_command():
    for name, command in PIXI["tasks"].items():
        assert command in README, name
