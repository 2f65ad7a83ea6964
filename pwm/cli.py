"""Console entry points. Arguments are Hydra overrides (`key=value`); nothing is written
outside the paths given. Exit codes of pwm-train, pwm-mt-world-model and pwm-mt-policy: 0 completed, 1 failed, 2 invalid config,
3 diverged, 73 run directory locked by another trainer, 75 interrupted by SIGTERM / SIGINT /
SIGUSR1 after writing a checkpoint (rerun the same command to resume)."""
import logging
import signal
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import torch


def _setup():
    logging.getLogger("absl").setLevel(logging.ERROR)  # dm_control's model-compiler deprecation noise
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit fails the write (OSError), never kills
    warnings.filterwarnings("ignore", module="gymnasium")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _compose(name: str, argv: list[str]):
    from pwm.config import compose_config, describe
    if {"-h", "--help"} & set(argv):
        print(f"usage: key=value ... (Hydra overrides). Keys, defaults and meanings:\n{describe(name)}")
        raise SystemExit(0)
    try:
        return compose_config(name, argv)
    except Exception as err:  # ConfigError, or Hydra's override / type errors
        # One line: Hydra's first line names the override, OmegaConf's (the cause) says why; Hydra's
        # "To append to your config use +key" hint is dropped, since a typo is never fixed by adding it.
        first, cause = str(err).splitlines()[0], err.__cause__
        why = f"{' ' if first.endswith('.') else ': '}{str(cause).splitlines()[0]}" if cause and str(cause) else ""
        _log(f"invalid configuration: {first}{why}")
        raise SystemExit(2) from None


def _run_loop(config_name: str, make_loop, argv: list[str] | None) -> int:
    """Compose, lock the run folder, run an EpochLoop; exit codes as in this module's docstring."""
    _setup()
    from pwm.config import ConfigError
    from pwm.loop import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, StopFlag
    from pwm.run_dir import RunDir, RunDirLockedError

    stop = StopFlag()  # from the start: a signal while the trainer is built still ends cleanly
    cfg = _compose(config_name, sys.argv[1:] if argv is None else argv)
    if not cfg.run_dir:
        _log("invalid configuration: run_dir=PATH is required")
        return EXIT_CONFIG
    run = RunDir(Path(cfg.run_dir))
    try:
        lock = run.lock()
    except RunDirLockedError as err:
        _log(str(err))
        return EXIT_LOCKED
    except OSError as err:  # run_dir is a file, under a file, or its parent is read-only
        _log(f"invalid configuration: run_dir={cfg.run_dir}: {err.strerror or err}")
        return EXIT_CONFIG
    try:
        return make_loop(cfg).run(run, stop)
    except ConfigError as err:
        _log(f"invalid configuration: {err}")
        return EXIT_CONFIG
    except Exception as err:
        traceback.print_exc()
        try:
            run.write_status("failed", reason=f"{type(err).__name__}: {err}",
                             **{k: getattr(cfg, k) for k in ("task", "tasks", "size", "seed") if hasattr(cfg, k)})
        except OSError as status_err:  # e.g. the disk that made the run fail is still full
            _log(f"could not write {run.status}: {status_err}")
        return EXIT_FAILED
    finally:
        lock.close()


def train_main(argv: list[str] | None = None) -> int:
    """pwm-train: one online single-task PWM run."""
    def make(cfg):
        from pwm.trainer import Trainer
        return Trainer(cfg, log=_log)
    return _run_loop("train", make, argv)


def mt_world_model_main(argv: list[str] | None = None) -> int:
    """pwm-mt-world-model: offline training of a multi-task world model on chunk files."""
    def make(cfg):
        from pwm.multitask.pretrain import Pretrainer
        return Pretrainer(cfg, log=_log)
    return _run_loop("pretrain", make, argv)


def mt_policy_main(argv: list[str] | None = None) -> int:
    """pwm-mt-policy: one task's policy through a pre-trained multi-task world model."""
    def make(cfg):
        from pwm.multitask.policy import TaskPolicyTrainer
        return TaskPolicyTrainer(cfg, log=_log)
    return _run_loop("task_policy", make, argv)


def mt_data_main(argv: list[str] | None = None) -> int:
    """pwm-mt-data: one TD-MPC2 chunk file, from a finished run's buffer or a random policy."""
    _setup()
    from pwm.multitask.data import DatasetError, write_chunk
    from pwm.multitask.sources import collect_random, episodes_from_run

    cfg = _compose("data", sys.argv[1:] if argv is None else argv)
    if not cfg.out or not (cfg.run_dir or cfg.task) or cfg.episodes < 1:
        _log("invalid configuration: out=FILE.pt and either run_dir=RUN or task=TASK (episodes>=1) are required")
        return 2
    try:
        episodes = episodes_from_run(Path(cfg.run_dir)) if cfg.run_dir else collect_random(cfg.task, cfg.episodes, cfg.seed)
    except DatasetError as err:
        _log(str(err))
        return 1
    write_chunk(episodes, Path(cfg.out))
    _log(f"{cfg.out}: {len(episodes)} episodes of {episodes.obs.shape[1] - 1} steps")
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    """pwm-eval: checkpoint=FILE out=FILE.parquet, or checkpoints=[...] out_dir=DIR (one process
    for all of a run's checkpoints, each into DIR/epoch{E}.parquet). Every checkpoint is read and
    the output checked writable before the first episode; bad input exits 2 with one line."""
    _setup()
    from pwm.evaluate import CheckpointError, evaluate_checkpoint, read_checkpoint
    from pwm.run_dir import write_parquet_atomic

    cfg = _compose("eval", sys.argv[1:] if argv is None else argv)
    single, several = bool(cfg.checkpoint or cfg.out), bool(cfg.checkpoints or cfg.out_dir)
    if single == several or cfg.episodes < 1 or (single and not (cfg.checkpoint and cfg.out)) \
            or (several and not (cfg.checkpoints and cfg.out_dir)):
        _log("invalid configuration: give checkpoint=PATH out=FILE.parquet, or checkpoints=[PATH,...] "
             "out_dir=DIR, and episodes>=1")
        return 2
    paths = [Path(p) for p in cfg.checkpoints or [cfg.checkpoint]]
    try:
        epochs = [read_checkpoint(p)["epoch"] for p in paths]
        outs = [Path(cfg.out)] if cfg.out else [Path(cfg.out_dir) / f"epoch{e}.parquet" for e in epochs]
        for out in outs:
            _check_writable(out)
    except (CheckpointError, OSError) as err:
        _log(f"pwm-eval: {err}")
        return 2
    torch.set_num_threads(cfg.threads)
    for path, out in zip(paths, outs):
        df = evaluate_checkpoint(path, cfg.episodes, cfg.eval_seed_base, cfg.device)
        write_parquet_atomic(df, out)
        _log(f"{path}: mean return {df['return'].mean():.1f} over {len(df)} episodes -> {out}")
    return 0


def clip_main(argv: list[str] | None = None) -> int:
    """pwm-clip: checkpoint=FILE out=FILE.gif [size=96 every=4]: one evaluation episode of the
    deterministic policy, rendered headless (pwm.clips)."""
    _setup()
    from pwm.clips import record
    from pwm.evaluate import CheckpointError, read_checkpoint

    cfg = _compose("clip", sys.argv[1:] if argv is None else argv)
    if not (cfg.checkpoint and cfg.out) or cfg.size < 16 or cfg.every < 1:
        _log("invalid configuration: give checkpoint=PATH out=FILE.gif, size>=16, every>=1")
        return 2
    try:
        read_checkpoint(Path(cfg.checkpoint))
        _check_writable(Path(cfg.out))
    except (CheckpointError, OSError) as err:
        _log(f"pwm-clip: {err}")
        return 2
    played = record(Path(cfg.checkpoint), Path(cfg.out), cfg.size, cfg.every, cfg.eval_seed_base)
    _log(f"{cfg.checkpoint}: return {played['return']:.1f} over {played['length']} steps -> {cfg.out}")
    return 0


def _check_writable(path: Path) -> None:
    """Raise OSError naming `path` unless a file can be written there (before any work is done)."""
    if path.is_dir():
        raise IsADirectoryError(f"out {path} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # a probe that leaves nothing behind says why (read-only file system, permissions, quota)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as err:
        raise PermissionError(f"out {path}: cannot write into {path.parent}: {err.strerror or err}") from None


def preflight_main(argv: list[str] | None = None, name: str = "preflight") -> int:
    """pwm-preflight (single-task) and pwm-mt-preflight (multi-task, name=mt_preflight)."""
    _setup()
    from pwm.run_dir import write_json_atomic

    cfg = _compose(name, sys.argv[1:] if argv is None else argv)
    if name == "mt_preflight":
        from pwm.multitask.preflight import preflight
    else:
        from pwm.trainer import preflight
    if not cfg.out:
        _log("invalid configuration: out=FILE.json is required")
        return 2
    try:
        report = preflight(cfg)
    except Exception:
        _log(f"preflight FAILED for task={getattr(cfg, 'task', None) or cfg.tasks} size={cfg.size} dynamics={cfg.dynamics}:")
        traceback.print_exc()
        return 1
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(cfg.out), report)
    _log(f"preflight ok: {report['task']} {report['size']} {report['variant']} in {report['seconds']:.1f}s")
    return 0


def mt_preflight_main(argv: list[str] | None = None) -> int:
    return preflight_main(argv, name="mt_preflight")
