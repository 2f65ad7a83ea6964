"""What a task's name says about it: its suite (for score normalisation) and whether it is a
multi-task run.

The rules follow the naming of pwm.envs.TASKS (dm_control tasks as `domain-task`, gymnasium
MuJoCo tasks as `Name-vN`) and TD-MPC2's multi-task sets (`mt30`, `mt80`). They look at names
only, so that reading a results directory never has to import the simulators.
"""
import re

_GYMNASIUM = re.compile(r"^[A-Z][A-Za-z0-9]*-v\d+$")
_MULTITASK = re.compile(r"^mt\d+$", re.IGNORECASE)
DMC_MAX_RETURN = 1000.0  # dm_control: reward in [0, 1] per step, 1,000 simulator steps per episode


def suite(task: str) -> str:
    """gymnasium, multi-task or dm_control."""
    if _GYMNASIUM.match(task):
        return "gymnasium"
    if _MULTITASK.match(task):
        return "multi-task"
    return "dm_control"


def is_multitask(task: str) -> bool:
    return suite(task) == "multi-task"


def max_return(task: str) -> float | None:
    """The return that normalises the task's scores to [0, 1]; None where there is none (gymnasium
    MuJoCo returns are unbounded, and a multi-task set is scored per member task)."""
    return DMC_MAX_RETURN if suite(task) == "dm_control" else None
