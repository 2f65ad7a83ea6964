"""Typed run configuration: Hydra structured configs, composed from command-line overrides
and validated once, before any environment or network is built."""
import dataclasses
import inspect
import re
import tempfile
import threading
from dataclasses import dataclass, field
from typing import List, Optional

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from pwm.envs import TASKS, TERMINATING_TASKS, default_action_repeat
from pwm.presets import SIZES
from pwm.tracking import TRACKERS

DYNAMICS_KINDS = ("mlp", "flow")
INTEGRATORS = ("euler", "heun")
REWARD_HEADS = ("twohot", "scalar")
TERMINATION_MODES = ("auto", "on", "off")
ROLLOUT_STARTS = ("buffer", "env")
PRECISIONS = ("auto", "fp32", "bf16")
ADAM_IMPLEMENTATIONS = ("foreach", "fused")

# Hydra's GlobalHydra is one per process: two threads composing at once (a benchmark's thread pool)
# would find it already initialised, so composing is serialised.
_COMPOSE_LOCK = threading.Lock()


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


@dataclass
class DynamicsConfig:
    kind: str = "mlp"  # mlp | flow
    integrator: str = "euler"  # flow only: euler (K evaluations) | heun (2K evaluations)
    substeps: int = 4  # flow only: K integration substeps from tau=0 to tau=1
    project: bool = True  # flow only: project the integrated latent back onto the SimNorm simplex


@dataclass
class EnvConfig:
    num_envs: int = 16  # environments stepped together each epoch
    steps_per_epoch: int = 8  # agent steps per environment per epoch
    action_repeat: Optional[int] = None  # None: 2 for dm_control, 1 for gymnasium MuJoCo
    stagger: bool = True  # cut each env's first episode at a different length: episodes end every few epochs


@dataclass
class ModelConfig:
    reward_head: str = "twohot"  # twohot (soft cross-entropy) | scalar (MSE)
    num_bins: int = 101
    vmin: float = -10.0
    vmax: float = 10.0
    simnorm_dim: int = 8
    symlog_obs: bool = True  # the encoder squashes observations with symlog first (config/README.md: walker-walk)
    actor_dims: List[int] = field(default_factory=lambda: [400, 200, 100])
    critic_dims: List[int] = field(default_factory=lambda: [400, 200])
    num_critics: int = 3
    log_std_init: float = 0.0  # std 1 before tanh: acting noise that spans the action range (see agent.noise_beta)
    log_std_min: float = -1.427  # floor on the actor's log-std: keeps exploring
    log_std_max: float = 0.5
    termination: str = "auto"  # termination head: auto (on for tasks that can terminate) | on | off


@dataclass
class AgentConfig:
    horizon: int = 16  # imagination horizon of the actor
    gamma: float = 0.99
    lam: float = 0.95
    actor_lr: float = 5e-4
    critic_lr: float = 5e-4
    model_lr: float = 3e-4
    encoder_lr_scale: float = 1.0  # the encoder's lr is model_lr times this (TD-MPC2: 0.3)
    final_lr: float = 1e-5  # every lr decays linearly to this over lr_decay_epochs, then stays
    lr_decay_epochs: int = 15000  # PWM's max_epochs; fixed, so epoch N means the same lr in every run
    actor_betas: List[float] = field(default_factory=lambda: [0.7, 0.95])
    critic_betas: List[float] = field(default_factory=lambda: [0.7, 0.95])
    actor_grad_clip: float = 1.0
    critic_grad_clip: float = 100.0
    model_grad_clip: float = 20.0
    batch_size: int = 256  # world-model batch of real sequences
    actor_batch_size: int = 256  # start latents of the imagined rollouts per actor update (buffer starts)
    rollout_start: str = "buffer"  # buffer: imagine from replay states | env: PWM's scheme, from and beside the real envs
    model_horizon: int = 16  # world-model sequences hold model_horizon + 1 observations (PWM: H + 1 = 17)
    rho: float = 0.9  # per-step weight of the world-model loss over its horizon (PWM 0.99; see config/README.md)
    consistency_coef: float = 20.0
    reward_coef: float = 0.1
    termination_coef: float = 1.0  # TD-MPC2's episodic weight; used only with a termination head
    model_updates_per_epoch: int = 16
    actor_updates_per_epoch: int = 2
    critic_iterations: int = 8  # passes over the imagined states per actor update (PWM: 8)
    critic_minibatches: int = 4  # minibatches per pass (PWM: 4)
    critic_tau: float = 0.05  # Polyak rate of the target critics
    entropy_coef: float = 1e-3  # weight of the squashed policy's entropy in the actor loss (returns are scaled to ~1)
    return_scale_tau: float = 0.01  # rate of the running 5-95% range of imagined returns that scales the actor loss
    random_steps: int = 5000  # env steps with random actions before learning (uniform; tanh of the noise below when colored)
    precision: str = "auto"  # auto | fp32 | bf16: the updates' forward passes under bfloat16 autocast (weights and Adam
    # stay fp32); auto: bf16 where the device computes it natively, else fp32 (pwm.precision)
    adam: str = "foreach"  # foreach | fused: torch's multi-tensor Adam, or its fused kernel (same math, other rounding)
    policy_average_rate: float = 0.05  # Polyak rate of the checkpointed policy (encoder + actor) per actor update; 0: the live weights
    noise_beta: float = 1.0  # colour of the acting noise, power spectrum 1/f^beta: 0 white (independent), 1 pink (pwm.exploration)
    warmup_updates: int = 200  # world-model updates once the random data is in
    buffer_capacity: int = 1_000_000  # transitions kept, over all environments


@dataclass
class LoopConfig:
    """What every resumable epoch loop (pwm.loop) takes: its folder, seed, device and length."""
    run_dir: str = ""  # the run folder (required): config, status, metrics, checkpoints, resume state
    seed: int = 1  # seeds torch, numpy and the training environments (seed * 1000 + i)
    device: str = "cpu"  # cpu | cuda | cuda:N
    threads: int = 1  # torch intra-op threads; fixed so that CPU runs are bit-reproducible
    epochs: int = 500  # epochs to train (the budget; the lr schedule does not depend on it)
    checkpoint_every: int = 50  # save weights (and resume state) every this many epochs and at the last
    log_every: int = 10  # epochs between log lines when not on a terminal
    tracking: str = "none"  # none | tensorboard: also write each epoch's metrics as TensorBoard scalars (pwm.tracking)
    restart_if_no_state: bool = False  # resume states exist but none is readable and this run's: start over instead of failing


@dataclass
class TrainConfig(LoopConfig):
    task: str = "cartpole-swingup"  # dm_control domain-task or gymnasium Name-v5 (pwm.envs.TASKS)
    size: str = "1M"  # world-model preset: 1M | 5M | 19M | 48M | 317M
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)


@dataclass
class PretrainConfig(LoopConfig):
    """Offline multi-task world model: TD-MPC2's loss on the chunk files in `data`. Of `agent`,
    the world-model keys apply (batch_size, model_horizon, rho, *_coef, model_lr, final_lr,
    model_grad_clip, precision, adam)."""
    tasks: List[str] = field(default_factory=list)  # the task set, in the order of its embedding rows
    data: List[str] = field(default_factory=list)  # chunk files, or directories of *.pt chunk files
    data_task_ids: List[str] = field(default_factory=list)  # names of the data's task ids; empty: MT30 order
    size: str = "1M"
    updates_per_epoch: int = 10  # world-model updates per epoch
    task_dim: int = 96  # task embedding width (TD-MPC2's multi-task value)
    dynamics: DynamicsConfig = field(default_factory=DynamicsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)


@dataclass
class TaskPolicyConfig(LoopConfig):
    """One task's policy learned through a pre-trained multi-task world model (frozen unless
    `finetune`), from that task's observations in `data`. Of `model`, the actor and critic keys
    apply; the world model's own settings come from its checkpoint."""
    world_model: str = ""  # checkpoint written by pwm-mt-world-model
    task: str = ""
    data: List[str] = field(default_factory=list)
    data_task_ids: List[str] = field(default_factory=list)
    finetune: bool = False  # also train the world model on this task's sequences (agent.model_updates_per_epoch)
    model: ModelConfig = field(default_factory=ModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)


@dataclass
class DataConfig:
    """One chunk file of a task's episodes: exported from a finished single-task run's replay
    buffer (`run_dir`), or collected with a random policy (`task`, `episodes`)."""
    out: str = ""
    run_dir: str = ""
    task: str = ""
    episodes: int = 16
    seed: int = 1


@dataclass
class MultiTaskPreflightConfig(PretrainConfig):
    out: str = ""  # JSON file written when the smoke test passes


@dataclass
class PreflightConfig(TrainConfig):
    out: str = ""  # JSON file written when the smoke test passes
    timed_epochs: int = 2  # learning epochs timed after the smoke test: seconds_per_epoch, projected_hours


@dataclass
class EvalConfig:
    checkpoint: str = ""  # one checkpoint, evaluated into `out`
    out: str = ""  # parquet file: one row per episode
    checkpoints: List[str] = field(default_factory=list)  # or several, each into out_dir/epoch{E}.parquet
    out_dir: str = ""
    episodes: int = 10  # episodes per checkpoint, deterministic policy
    device: str = "cpu"  # cpu | cuda | cuda:N
    threads: int = 1  # torch intra-op threads
    eval_seed_base: int = 1_000_000  # eval seeds are eval_seed_base + episode; training seeds are far below


@dataclass
class ClipConfig:
    checkpoint: str = ""  # a policy checkpoint (checkpoints/epoch_N.pt, final/checkpoint.pt)
    out: str = ""  # the GIF to write
    size: int = 96  # frame width and height in pixels
    every: int = 4  # draw every this many agent steps
    eval_seed_base: int = 1_000_000  # the episode: pwm-eval's first evaluation episode


def _store() -> None:
    cs = ConfigStore.instance()
    cs.store(name="train", node=TrainConfig)
    cs.store(name="preflight", node=PreflightConfig)
    cs.store(name="eval", node=EvalConfig)
    cs.store(name="clip", node=ClipConfig)
    cs.store(name="pretrain", node=PretrainConfig)
    cs.store(name="task_policy", node=TaskPolicyConfig)
    cs.store(name="data", node=DataConfig)
    cs.store(name="mt_preflight", node=MultiTaskPreflightConfig)


def compose_config(name: str, overrides: list[str]):
    """Compose `name` from overrides like `size=5M dynamics.kind=flow`; typos fail here."""
    for override in overrides:
        if override.startswith(("+", "~")):
            key = override.lstrip("+~").split("=")[0]
            raise ConfigError(f"{override!r}: keys cannot be added (+) or deleted (~); {key!r} is not a key "
                              "of this command (its --help lists them)")
    _store()
    with _COMPOSE_LOCK, tempfile.TemporaryDirectory() as empty, \
            initialize_config_dir(config_dir=empty, version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides)
    obj = OmegaConf.to_object(cfg)
    validate = {TrainConfig: validate_train, PreflightConfig: validate_train, PretrainConfig: validate_pretrain,
                MultiTaskPreflightConfig: validate_task_set, TaskPolicyConfig: validate_task_policy}.get(type(obj))
    if validate:
        validate(obj)
    return obj


def describe(name: str) -> str:
    """Every key of command config `name` with its default and the comment beside its field:
    what `--help` prints."""
    _store()
    node = ConfigStore.instance().repo[f"{name}.yaml"].node
    lines = []

    def walk(cls, prefix: str) -> None:
        comments = _field_comments(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if dataclasses.is_dataclass(default):
                walk(type(default), f"{prefix}{f.name}.")
                continue
            note = f"  # {comments[f.name]}" if comments.get(f.name) else ""
            lines.append(f"  {prefix}{f.name}={_as_override(default)}{note}")

    walk(OmegaConf.get_type(node), "")
    return "\n".join(lines)


def _as_override(value) -> str:
    if value is None or isinstance(value, bool):
        return str(value).lower().replace("none", "null")
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value) if value != "" else "''"


def _field_comments(cls) -> dict[str, str]:
    """`name: type = default  # comment` lines of a dataclass and its bases."""
    comments = {}
    for klass in reversed(cls.__mro__[:-1]):
        for line in inspect.getsource(klass).splitlines():
            match = re.match(r"\s+(\w+): [^=]+=.*?#\s*(.+)$", line)
            if match:
                comments[match[1]] = match[2]
    return comments


def variant_name(d: DynamicsConfig) -> str:
    """The dynamics variant as it appears in run folder names: mlp or flow-<integrator>-k<K>."""
    return "mlp" if d.kind == "mlp" else f"flow-{d.integrator}-k{d.substeps}"


def _one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def _at_least(key: str, value, low) -> None:
    if value < low:
        raise ConfigError(f"{key}={value!r} is not allowed; it must be >= {low}")


def uses_termination(c: TrainConfig) -> bool:
    """Whether a single-task run's world model has a termination head: `model.termination=auto`
    turns it on exactly for the tasks whose episodes can end by termination (gymnasium's
    Ant, Hopper, Humanoid, Walker2d fall; dm_control tasks and HalfCheetah only time out), where
    imagining past a fall as if it cost nothing is wrong; elsewhere it could only add noise."""
    return {"on": True, "off": False, "auto": c.task in TERMINATING_TASKS}[c.model.termination]


def _validate_world_model(c) -> None:
    """Keys that shape a world model: size, dynamics, reward head, termination head."""
    _one_of("size", c.size, list(SIZES))
    _one_of("model.termination", c.model.termination, TERMINATION_MODES)
    _one_of("dynamics.kind", c.dynamics.kind, DYNAMICS_KINDS)
    _one_of("dynamics.integrator", c.dynamics.integrator, INTEGRATORS)
    _one_of("model.reward_head", c.model.reward_head, REWARD_HEADS)
    _at_least("dynamics.substeps", c.dynamics.substeps, 1)
    _at_least("model.num_bins", c.model.num_bins, 2)
    latent = SIZES[c.size].latent_dim
    if latent % c.model.simnorm_dim:
        raise ConfigError(f"model.simnorm_dim={c.model.simnorm_dim} must divide the latent size {latent} of size {c.size}")


def _above(key: str, value, low) -> None:
    if not value > low:
        raise ConfigError(f"{key}={value!r} is not allowed; it must be > {low}")


def _within(key: str, value, low, high) -> None:
    if not low < value <= high:
        raise ConfigError(f"{key}={value!r} is not allowed; it must be in ({low}, {high}]")


def _validate_device(device: str) -> None:
    import torch
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device={device!r} is not allowed; use cpu, cuda or cuda:N") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r}: this machine has no CUDA device; use device=cpu")
    if parsed.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={device!r} is not allowed; use cpu, cuda or cuda:N")


def _validate_learning(c) -> None:
    """Learning rates, discounts and the reward range, wherever an agent config is used."""
    a = c.agent
    for key in ("model_lr", "actor_lr", "critic_lr", "final_lr"):
        _above(f"agent.{key}", getattr(a, key), 0)
    _within("agent.gamma", a.gamma, 0, 1)
    _within("agent.rho", a.rho, 0, 1)
    if not 0 <= a.lam <= 1:
        raise ConfigError(f"agent.lam={a.lam!r} is not allowed; it must be in [0, 1]")
    if not 0 <= a.noise_beta <= 2:
        raise ConfigError(f"agent.noise_beta={a.noise_beta!r} is not allowed; it must be in [0, 2] (0 white, 1 pink, 2 red)")
    if not 0 <= a.policy_average_rate <= 1:
        raise ConfigError(f"agent.policy_average_rate={a.policy_average_rate!r} is not allowed; it must be in [0, 1] "
                          "(0: checkpoints hold the live policy)")
    _one_of("agent.precision", a.precision, PRECISIONS)
    _one_of("agent.adam", a.adam, ADAM_IMPLEMENTATIONS)
    if not c.model.vmin < c.model.vmax:
        raise ConfigError(f"model.vmin={c.model.vmin!r} must be below model.vmax={c.model.vmax!r}")


def _validate_loop(c) -> None:
    """Keys every epoch loop has."""
    _validate_device(c.device)
    _validate_learning(c)
    _at_least("epochs", c.epochs, 1)
    _at_least("checkpoint_every", c.checkpoint_every, 1)
    _at_least("log_every", c.log_every, 1)
    _at_least("seed", c.seed, 0)
    _at_least("threads", c.threads, 1)
    _one_of("tracking", c.tracking, TRACKERS)
    _at_least("agent.batch_size", c.agent.batch_size, 1)
    _at_least("agent.model_horizon", c.agent.model_horizon, 1)


def _validate_actor_critic(c) -> None:
    _one_of("agent.rollout_start", c.agent.rollout_start, ROLLOUT_STARTS)
    _at_least("agent.horizon", c.agent.horizon, 1)
    _at_least("agent.actor_batch_size", c.agent.actor_batch_size, 2)
    _at_least("model.num_critics", c.model.num_critics, 1)
    _at_least("agent.critic_iterations", c.agent.critic_iterations, 1)
    _at_least("agent.critic_minibatches", c.agent.critic_minibatches, 1)
    _at_least("agent.lr_decay_epochs", c.agent.lr_decay_epochs, 1)


def validate_train(c: TrainConfig) -> None:
    _one_of("task", c.task, TASKS)
    _validate_world_model(c)
    _validate_loop(c)
    _validate_actor_critic(c)
    _at_least("env.num_envs", c.env.num_envs, 1)
    _at_least("env.steps_per_epoch", c.env.steps_per_epoch, 1)
    if c.env.action_repeat is not None:
        _at_least("env.action_repeat", c.env.action_repeat, 1)
    a = c.agent
    if a.rollout_start == "env" and c.env.steps_per_epoch != a.horizon * a.actor_updates_per_epoch:
        raise ConfigError(f"agent.rollout_start=env steps the environments during the actor updates: "
                          f"env.steps_per_epoch={c.env.steps_per_epoch} must equal agent.horizon x "
                          f"agent.actor_updates_per_epoch = {a.horizon * a.actor_updates_per_epoch}")
    repeat = c.env.action_repeat or default_action_repeat(c.task)
    random_epochs = -(-a.random_steps // (c.env.num_envs * c.env.steps_per_epoch * repeat))
    if (random_epochs + 1) * c.env.steps_per_epoch < a.model_horizon:
        raise ConfigError(f"agent.random_steps={a.random_steps} with env.steps_per_epoch={c.env.steps_per_epoch} leaves "
                          f"{(random_epochs + 1) * c.env.steps_per_epoch} steps per environment at the first update, "
                          f"fewer than agent.model_horizon={a.model_horizon}: raise agent.random_steps")
    if c.agent.buffer_capacity < c.env.num_envs * (c.agent.model_horizon + 2):
        raise ConfigError(f"agent.buffer_capacity={c.agent.buffer_capacity} is too small for {c.env.num_envs} envs")


def validate_task_set(c: PretrainConfig) -> None:
    if not c.tasks:
        raise ConfigError("tasks=[...] is required: the task set of the multi-task world model")
    for task in c.tasks:
        _one_of("tasks", task, TASKS)
    if len(set(c.tasks)) != len(c.tasks):
        raise ConfigError(f"tasks={c.tasks} names a task twice")
    _validate_world_model(c)
    if c.model.termination == "on":
        raise ConfigError("model.termination=on is not allowed for a multi-task world model: TD-MPC2's "
                          "chunk data holds no termination flags; use auto or off")
    _validate_loop(c)
    _at_least("agent.lr_decay_epochs", c.agent.lr_decay_epochs, 1)
    _at_least("updates_per_epoch", c.updates_per_epoch, 1)
    _at_least("task_dim", c.task_dim, 1)


def validate_pretrain(c: PretrainConfig) -> None:
    validate_task_set(c)
    if not c.data:
        raise ConfigError("data=[...] is required: chunk files or directories of them")


def validate_task_policy(c: TaskPolicyConfig) -> None:
    _one_of("task", c.task, TASKS)
    _one_of("agent.rollout_start", c.agent.rollout_start, ["buffer"])  # offline: no environments to step
    if not c.world_model or not c.data:
        raise ConfigError("world_model=CHECKPOINT and data=[...] are required")
    _validate_loop(c)
    _validate_actor_critic(c)


def to_yaml(cfg) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


# Keys an earlier pwm-train wrote into run folders and checkpoints and this one no longer has,
# with the value that meant "off": a config saved with that value still loads (the run is the
# same without the key); any other value is refused, since this code cannot train it.
RETIRED_KEYS = {"agent": {"greedy_envs": 0}}
# Keys added after run folders and checkpoints were saved without them, with the value that
# reproduces those runs: a saved config that lacks one gets that value, not today's default (the
# encoder of a checkpoint from before model.symlog_obs has no symlog in front of it).
ADDED_KEYS = {"model": {"symlog_obs": False}}


def from_yaml_text(text: str, cls=TrainConfig):
    """Rebuild a config saved by `to_yaml` (checkpoints and run folders carry it)."""
    saved = OmegaConf.create(text)
    for section, keys in RETIRED_KEYS.items():
        node = saved.get(section)
        for key, off in keys.items():
            if node is not None and node.get(key, None) == off:
                del node[key]
    for section, keys in ADDED_KEYS.items():
        node = saved.get(section)
        for key, before in keys.items():
            if node is not None and key not in node:
                node[key] = before
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), saved))
