"""gymnasium MuJoCo tasks with actions rescaled to [-1, 1] and float32 observations."""
import gymnasium as gym
import numpy as np

from pwm.envs.physics_state import get_physics_state, set_physics_state


class GymMujocoEnv(gym.Wrapper):
    def __init__(self, name: str, action_repeat: int, render_size: int | None = None):
        drawn = {"render_mode": "rgb_array", "width": render_size, "height": render_size} if render_size else {}
        env = gym.make(name, disable_env_checker=True, **drawn)
        super().__init__(gym.wrappers.RescaleAction(env, -1.0, 1.0))
        self.action_repeat = action_repeat
        self.observation_space = gym.spaces.Box(np.float32(-np.inf), np.float32(np.inf), env.observation_space.shape, np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, env.action_space.shape, np.float32)
        self._time_limit = env if isinstance(env, gym.wrappers.TimeLimit) else None
        self.max_episode_steps = -(-env.spec.max_episode_steps // action_repeat)  # agent steps per episode

    def reset(self, *, seed: int | None = None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        return obs.astype(np.float32), info

    def step(self, action):
        reward = 0.0
        for _ in range(self.action_repeat):
            obs, r, terminated, truncated, info = self.env.step(np.clip(action, -1.0, 1.0))
            reward += float(r)
            if terminated or truncated:
                break
        return obs.astype(np.float32), reward, terminated, truncated, info

    def get_state(self) -> dict:
        raw = self.env.unwrapped
        return {
            "physics": get_physics_state(raw.model, raw.data),
            "random": raw.np_random.bit_generator.state,
            "elapsed": self._time_limit._elapsed_steps if self._time_limit else None,
        }

    def set_state(self, state: dict) -> None:
        raw = self.env.unwrapped
        set_physics_state(raw.model, raw.data, state["physics"])
        raw.np_random.bit_generator.state = state["random"]
        if self._time_limit:
            self._time_limit._elapsed_steps = state["elapsed"]
