"""DeepMind Control Suite tasks as gymnasium Envs (flat observations, action repeat)."""
import gymnasium as gym
import numpy as np
from dm_control import suite

from pwm.envs.physics_state import get_physics_state, set_physics_state
from pwm.envs.registry import DMC_TASKS



def _flatten(observation: dict) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float32).ravel() for v in observation.values()])


class DMControlEnv(gym.Env):
    """A dm_control task; episodes end by time limit (truncation), never by termination."""

    def __init__(self, name: str, seed: int, action_repeat: int, render_size: int | None = None):
        domain, task = DMC_TASKS[name]
        self._env = suite.load(domain, task, task_kwargs={"random": seed})
        self.action_repeat, self.render_size = action_repeat, render_size
        self.max_episode_steps = -(-int(self._env._step_limit) // action_repeat)  # agent steps per episode
        spec = self._env.action_spec()
        self._low, self._high = spec.minimum.astype(np.float64), spec.maximum.astype(np.float64)
        obs_dim = sum(int(np.prod(s.shape)) for s in self._env.observation_spec().values())
        self.observation_space = gym.spaces.Box(np.float32(-np.inf), np.float32(np.inf), (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, spec.shape, np.float32)

    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.task._random = np.random.RandomState(seed)
        return _flatten(self._env.reset().observation), {}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        action = self._low + (action + 1.0) * 0.5 * (self._high - self._low)
        reward = 0.0
        for _ in range(self.action_repeat):
            ts = self._env.step(action)
            reward += ts.reward or 0.0
            if ts.last():
                break
        terminated = ts.last() and ts.discount == 0.0
        truncated = ts.last() and not terminated
        return _flatten(ts.observation), reward, terminated, truncated, {}

    def render(self) -> np.ndarray:
        return self._env.physics.render(self.render_size, self.render_size, camera_id=0)

    def close(self) -> None:
        self._env.close()  # frees the rendering context while the interpreter is still whole

    def get_state(self) -> dict:
        physics = self._env.physics
        return {
            "physics": get_physics_state(physics.model.ptr, physics.data.ptr),
            "random": self._env.task.random.get_state(),
            "step_count": self._env._step_count,
            "reset_next_step": self._env._reset_next_step,
        }

    def set_state(self, state: dict) -> None:
        physics = self._env.physics
        set_physics_state(physics.model.ptr, physics.data.ptr, state["physics"])
        self._env.task.random.set_state(state["random"])
        self._env._step_count = state["step_count"]
        self._env._reset_next_step = state["reset_next_step"]
