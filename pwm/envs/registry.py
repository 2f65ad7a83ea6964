"""Known task names, importable without loading any simulator (Snakemake validates against
them at DAG build time, on every start)."""

# The 19 stock dm_control tasks of MT30, named domain-task; value: (domain, task) in dm_control.
DMC_TASKS: dict[str, tuple[str, str]] = {
    name: (domain, task)
    for name, domain, task in [
        ("walker-stand", "walker", "stand"), ("walker-walk", "walker", "walk"),
        ("walker-run", "walker", "run"), ("cheetah-run", "cheetah", "run"),
        ("reacher-easy", "reacher", "easy"), ("reacher-hard", "reacher", "hard"),
        ("acrobot-swingup", "acrobot", "swingup"), ("pendulum-swingup", "pendulum", "swingup"),
        ("cartpole-balance", "cartpole", "balance"),
        ("cartpole-balance-sparse", "cartpole", "balance_sparse"),
        ("cartpole-swingup", "cartpole", "swingup"),
        ("cartpole-swingup-sparse", "cartpole", "swingup_sparse"),
        ("cup-catch", "ball_in_cup", "catch"), ("finger-spin", "finger", "spin"),
        ("finger-turn-easy", "finger", "turn_easy"), ("finger-turn-hard", "finger", "turn_hard"),
        ("fish-swim", "fish", "swim"), ("hopper-stand", "hopper", "stand"),
        ("hopper-hop", "hopper", "hop"),
    ]
}

GYM_TASKS = ["Ant-v5", "HalfCheetah-v5", "Hopper-v5", "Humanoid-v5", "Walker2d-v5"]
# Tasks whose episodes end when the body falls (gymnasium's healthy checks); the others only time out.
TERMINATING_TASKS = ["Ant-v5", "Hopper-v5", "Humanoid-v5", "Walker2d-v5"]

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
