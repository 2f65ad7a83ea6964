"""Console entry points. Arguments are Hydra overrides (`key=value`); nothing is written
outside the paths given. Exit codes of pwm-train: 0 completed, 1 failed, 2 invalid config,
3 diverged, 73 run directory locked by another trainer, 75 interrupted by SIGTERM / SIGINT /
SIGUSR1 after writing a checkpoint (rerun the same command to resume)."""
import logging
import sys
import traceback
import warnings
from pathlib import Path

import torch


def _setup():
    logging.getLogger("absl").setLevel(logging.ERROR)  # dm_control's model-compiler deprecation noise
    warnings.filterwarnings("ignore", module="gymnasium")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _compose(name: str, argv: list[str]):
    from pwm.config import compose_config
    try:
        return compose_config(name, argv)
    except Exception as err:  # ConfigError, or Hydra's override / type errors
        _log(f"invalid configuration: {err}")
        raise SystemExit(2) from None


def train_main(argv: list[str] | None = None) -> int:
    _setup()
    from pwm.config import ConfigError
    from pwm.run_dir import RunDir, RunDirLockedError
    from pwm.trainer import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, Trainer

    cfg = _compose("train", sys.argv[1:] if argv is None else argv)
    if not cfg.run_dir:
        _log("invalid configuration: run_dir=PATH is required")
        return EXIT_CONFIG
    run = RunDir(Path(cfg.run_dir))
    try:
        lock = run.lock()
    except RunDirLockedError as err:
        _log(str(err))
        return EXIT_LOCKED
    try:
        return Trainer(cfg, log=_log).run(run)
    except ConfigError as err:
        _log(f"invalid configuration: {err}")
        return EXIT_CONFIG
    except Exception as err:
        traceback.print_exc()
        run.write_status("failed", reason=f"{type(err).__name__}: {err}", task=cfg.task, size=cfg.size, seed=cfg.seed)
        return EXIT_FAILED
    finally:
        lock.close()


def eval_main(argv: list[str] | None = None) -> int:
    _setup()
    from pwm.evaluate import evaluate_checkpoint
    from pwm.run_dir import write_parquet_atomic

    cfg = _compose("eval", sys.argv[1:] if argv is None else argv)
    if not cfg.checkpoint or not cfg.out or cfg.episodes < 1:
        _log("invalid configuration: checkpoint=PATH out=FILE.parquet and episodes>=1 are required")
        return 2
    torch.set_num_threads(cfg.threads)
    df = evaluate_checkpoint(Path(cfg.checkpoint), cfg.episodes, cfg.eval_seed_base, cfg.device)
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(df, Path(cfg.out))
    _log(f"{cfg.checkpoint}: mean return {df['return'].mean():.1f} over {len(df)} episodes")
    return 0


def preflight_main(argv: list[str] | None = None) -> int:
    _setup()
    from pwm.run_dir import write_json_atomic
    from pwm.trainer import preflight

    cfg = _compose("preflight", sys.argv[1:] if argv is None else argv)
    if not cfg.out:
        _log("invalid configuration: out=FILE.json is required")
        return 2
    try:
        report = preflight(cfg)
    except Exception:
        _log(f"preflight FAILED for task={cfg.task} size={cfg.size} dynamics={cfg.dynamics}:")
        traceback.print_exc()
        return 1
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(cfg.out), report)
    _log(f"preflight ok: {report['task']} {report['size']} {report['variant']} in {report['seconds']:.1f}s")
    return 0
