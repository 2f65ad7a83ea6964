"""See the policy: one evaluation episode of a checkpoint's deterministic policy, rendered
headless (MuJoCo through EGL, Mesa's software renderer where there is no GPU) into a looping
GIF, so that a reader sees what "880" and "53" mean: a balanced pole, a dangling one.

The episode is the first evaluation episode (seed eval_seed_base), as pwm-eval plays it. Every
`every`-th agent step is drawn, `size` pixels square; a 500-step dm_control episode at size 96,
every 4th step, is 126 frames and costs ~5 s of rendering on one CPU core (gymnasium tasks,
drawn with their own tracking camera, about twice that).
"""
import os
from pathlib import Path

FRAME_MS = 50  # display time per drawn frame


def _use_gl() -> None:
    """Rendering needs an OpenGL backend; the pipeline disables it everywhere else."""
    if os.environ.get("MUJOCO_GL", "disable") == "disable":
        os.environ["MUJOCO_GL"] = "egl"


def record(checkpoint: Path, out: Path, size: int = 96, every: int = 4, seed: int = 1_000_000) -> dict:
    """Play and draw one episode into `out` (GIF); returns its seed, return and length."""
    _use_gl()
    from PIL import Image

    from pwm.envs import make_env
    from pwm.evaluate import load_policy, read_checkpoint

    policy = load_policy(read_checkpoint(checkpoint))
    env = make_env(policy.task, seed, policy.action_repeat, render_size=size)
    try:
        obs, _ = env.reset(seed=seed)
        frames, total, steps, done = [env.render()], 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs[None])[0])
            total, steps, done = total + reward, steps + 1, terminated or truncated
            if steps % every == 0 or done:
                frames.append(env.render())
    finally:
        env.close()
    images = [Image.fromarray(frame) for frame in frames]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0, optimize=True)
    return {"seed": seed, "return": total, "length": steps}
