"""Task registry: dm_control suite tasks (`domain-task`) and gymnasium MuJoCo tasks (`Name-v5`).

Every task is a gymnasium Env with flat float32 observations, actions in [-1, 1], and
`get_state()` / `set_state()` so that a checkpoint can restore the simulator exactly.
"""
import os

os.environ.setdefault("MUJOCO_GL", "disable")  # headless: never load an OpenGL backend

import gymnasium as gym  # noqa: E402
from gymnasium.vector import AutoresetMode, SyncVectorEnv  # noqa: E402

from pwm.envs.dmc import DMC_TASKS, DMControlEnv  # noqa: E402
from pwm.envs.gym_mujoco import GYM_TASKS, GymMujocoEnv  # noqa: E402

TASKS: list[str] = sorted([*DMC_TASKS, *GYM_TASKS])


class UnknownTaskError(ValueError):
    pass


def check_task(task: str) -> None:
    if task not in TASKS:
        raise UnknownTaskError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")


def default_action_repeat(task: str) -> int:
    """TD-MPC2 uses action repeat 2 on DMControl; gymnasium's MuJoCo tasks already skip frames."""
    check_task(task)
    return 2 if task in DMC_TASKS else 1


def make_env(task: str, seed: int, action_repeat: int | None = None) -> gym.Env:
    check_task(task)
    repeat = action_repeat or default_action_repeat(task)
    if task in DMC_TASKS:
        return DMControlEnv(task, seed=seed, action_repeat=repeat)
    return GymMujocoEnv(task, action_repeat=repeat)


def make_vector_env(task: str, seeds: list[int], action_repeat: int | None = None) -> SyncVectorEnv:
    """Synchronous vector env (faster than subprocesses on 2 cores) that resets finished
    episodes within the same step; the final observation is in info["final_obs"]."""
    check_task(task)
    fns = [lambda s=s: make_env(task, s, action_repeat) for s in seeds]
    return SyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)
