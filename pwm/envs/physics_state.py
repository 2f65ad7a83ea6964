"""Exact save/restore of a MuJoCo simulation.

The whole MjData is kept, not only the integration state: gymnasium's tasks read quantities
left over from the previous step (e.g. body positions computed before the last integration),
which a restore that recomputes them with mj_forward would change.
"""
import copy

import mujoco


def get_physics_state(data: mujoco.MjData) -> mujoco.MjData:
    return copy.copy(data)


def set_physics_state(model: mujoco.MjModel, data: mujoco.MjData, state: mujoco.MjData) -> None:
    mujoco.mj_copyData(data, model, state)
