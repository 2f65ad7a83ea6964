"""Exact save/restore of a MuJoCo simulation (integration state includes solver warm-starts)."""
import mujoco
import numpy as np

_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION


def get_physics_state(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    state = np.empty(mujoco.mj_stateSize(model, _SPEC))
    mujoco.mj_getState(model, data, state, _SPEC)
    return state


def set_physics_state(model: mujoco.MjModel, data: mujoco.MjData, state: np.ndarray) -> None:
    mujoco.mj_setState(model, data, state, _SPEC)
    mujoco.mj_forward(model, data)
