"""Exact, compact save/restore of a MuJoCo simulation.

MuJoCo's state API holds the complete integration state (time, qpos, qvel, act, warm-start
accelerations, controls, applied forces, mocap) in a few hundred bytes; restoring it and
calling mj_forward reproduces every derived quantity *for that state*. But tasks also read
derived quantities left over from before the last integration step (gymnasium's Ant takes its
"before" torso position from `xpos`, which mj_step computed before integrating), which
mj_forward would overwrite with values for the new state. So the snapshot also keeps a copy of
every model-sized array of MjData (a few kB to a few tens of kB), and restoring puts those back
after mj_forward. Arrays sized by the current contacts and constraints are recomputed from
scratch by the next step, so they need no copy. A pickled MjData, by contrast, is ~12 MB of
mostly preallocated scratch memory.
"""
import mujoco
import numpy as np

_STATE = mujoco.mjtState.mjSTATE_INTEGRATION


def _array_fields(data: mujoco.MjData) -> list[str]:
    return [name for name in dir(data) if not name.startswith("_") and isinstance(getattr(data, name, None), np.ndarray)]


def get_physics_state(model: mujoco.MjModel, data: mujoco.MjData) -> dict:
    state = np.empty(mujoco.mj_stateSize(model, _STATE))
    mujoco.mj_getState(model, data, state, _STATE)
    return {"integration": state, "derived": {name: getattr(data, name).copy() for name in _array_fields(data)}}


def set_physics_state(model: mujoco.MjModel, data: mujoco.MjData, state: dict) -> None:
    mujoco.mj_setState(model, data, state["integration"], _STATE)
    mujoco.mj_forward(model, data)
    for name, saved in state["derived"].items():
        current = getattr(data, name)
        if current.shape == saved.shape:  # contact/constraint arrays of another size: recomputed next step
            current[...] = saved
