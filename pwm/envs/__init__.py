"""Tasks: dm_control suite tasks (`domain-task`) and gymnasium MuJoCo tasks (`Name-v5`).

Every task is a gymnasium Env with flat float32 observations, actions in [-1, 1], and
`get_state()` / `set_state()` so that a checkpoint can restore the simulator exactly. The
simulators are imported on first use only: the task names come from `pwm.envs.registry`.
"""
import os

from pwm.envs.registry import (DMC_TASKS, GYM_TASKS, TASKS, TERMINATING_TASKS, UnknownTaskError, check_task,
                               default_action_repeat)

os.environ.setdefault("MUJOCO_GL", "disable")  # headless: never load an OpenGL backend

__all__ = ["DMC_TASKS", "GYM_TASKS", "TASKS", "TERMINATING_TASKS", "UnknownTaskError", "check_task", "default_action_repeat", "make_env", "make_vector_env"]


def make_env(task: str, seed: int, action_repeat: int | None = None, render_size: int | None = None):
    """`render_size`: `render()` returns size x size RGB frames (needs MUJOCO_GL set to a backend)."""
    check_task(task)
    repeat = action_repeat or default_action_repeat(task)
    if task in DMC_TASKS:
        from pwm.envs.dmc import DMControlEnv
        return DMControlEnv(task, seed=seed, action_repeat=repeat, render_size=render_size)
    from pwm.envs.gym_mujoco import GymMujocoEnv
    return GymMujocoEnv(task, action_repeat=repeat, render_size=render_size)


def make_vector_env(task: str, seeds: list[int], action_repeat: int | None = None):
    """Synchronous vector env (faster than subprocesses on 2 cores) that resets finished
    episodes within the same step; the final observation is in info["final_obs"]."""
    from gymnasium.vector import AutoresetMode, SyncVectorEnv
    check_task(task)
    fns = [lambda s=s: make_env(task, s, action_repeat) for s in seeds]
    return SyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)
