"""Where the pipeline's own multi-task data comes from: the replay buffer a finished single-task
run saved in its resume state, or a random policy for a task that had no single-task run."""
from pathlib import Path

import numpy as np

from pwm import checkpoint
from pwm.buffer import ReplayBuffer
from pwm.config import from_yaml_text
from pwm.envs import make_vector_env
from pwm.multitask.data import DatasetError, Episodes
from pwm.multitask.tasks import TASK_IDS
from pwm.run_dir import RunDir


def episodes_from_run(run_dir: Path) -> Episodes:
    """Every complete episode in the newest resume state of a single-task run. Episodes cut by
    the ring buffer's wrap or still running are dropped, and only episodes of the most common
    length are kept (dm_control episodes all have one length; a gymnasium task's early
    terminations do not fit the fixed-length format)."""
    run = RunDir(Path(run_dir))
    state = checkpoint.load_newest_readable(run.state)
    if state is None:
        raise DatasetError(f"{run.state} holds no readable resume state to take episodes from")
    cfg = from_yaml_text(state["config"])
    task = cfg.task
    if not state["buffer"]["chunks"]:
        raise DatasetError(f"{run.root} has no complete episode in its replay buffer yet")
    buf = ReplayBuffer.from_chunks(run.root / "buffer", state["buffer"], cfg.agent.buffer_capacity).arrays()
    count, held = buf["count"], buf["obs"].shape[1]
    capacity_wrapped = count > held
    segments = []  # (env, time-ordered buffer indices of one complete episode)
    for env in range(buf["obs"].shape[0]):
        order = np.arange(count - held, count) % held if capacity_wrapped else np.arange(held)
        ids = buf["episode"][env, order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for k, (a, b) in enumerate(zip(starts, np.r_[starts[1:], len(ids)])):
            complete = ids[a] < buf["current_episode"][env] and not (capacity_wrapped and k == 0)
            if complete:
                segments.append((env, order[a:b]))
    if not segments:
        raise DatasetError(f"{run.root} has no complete episode in its replay buffer yet")
    lengths, counts = np.unique([len(idx) for _, idx in segments], return_counts=True)
    length = lengths[np.argmax(counts)]
    kept = [(env, idx) for env, idx in segments if len(idx) == length]
    return Episodes.build(
        obs=[np.concatenate([buf["obs"][env, idx[:1]], buf["next_obs"][env, idx]]) for env, idx in kept],
        action=[buf["action"][env, idx] for env, idx in kept],
        reward=[buf["reward"][env, idx] for env, idx in kept],
        task_id=TASK_IDS.index(task))


def collect_random(task: str, episodes: int, seed: int) -> Episodes:
    """`episodes` episodes of uniformly random actions, all environments stepped together."""
    seeds = [seed * 1000 + i for i in range(episodes)]
    env = make_vector_env(task, seeds)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seeds)
    trajectories = [[o] for o in obs]
    actions, rewards = [[] for _ in seeds], [[] for _ in seeds]
    running = np.ones(len(seeds), bool)
    while running.any():
        action = rng.uniform(-1, 1, (len(seeds), env.single_action_space.shape[0])).astype(np.float32)
        next_obs, reward, terminated, truncated, info = env.step(action)
        done = terminated | truncated
        for i in np.flatnonzero(running):
            trajectories[i].append(info["final_obs"][i] if done[i] else next_obs[i])
            actions[i].append(action[i])
            rewards[i].append(reward[i])
        running &= ~done
    env.close()
    length = max(len(r) for r in rewards)
    full = [i for i in range(len(seeds)) if len(rewards[i]) == length]
    return Episodes.build([np.stack(trajectories[i]) for i in full], [np.stack(actions[i]) for i in full],
                          [np.asarray(rewards[i]) for i in full], TASK_IDS.index(task))
