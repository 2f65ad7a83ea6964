"""The resumable epoch loop every trainer runs in (online single-task PWM, the offline multi-task
world model, the per-task policies): checkpoints every N epochs, resume from the newest readable
state, a checkpoint and exit 75 on SIGTERM / SIGINT / SIGUSR1, exit 3 on divergence, and a live
status.json. A subclass says what one epoch does and what its state is."""
import dataclasses
import json
import shutil
import signal
import sys
import time

import torch

from pwm import checkpoint, precision
from pwm.metrics import DivergenceError
from pwm.config import ConfigError, from_yaml_text, to_yaml
from pwm.tracking import tracker
from pwm.run_dir import RunDir, write_json_atomic, write_text_atomic

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DIVERGED = 3
EXIT_LOCKED = 73  # EX_CANTCREAT: another trainer holds the run directory
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: a checkpoint was written on a signal; rerun to resume
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
STATES_KEPT = 2  # full resume states kept; the older one is the fallback for a corrupt newest


class EpochLoop:
    """Subclasses set `cfg` (with epochs, checkpoint_every, log_every), `device`, `log`, and
    implement train_epoch, weights, extra_state, restore_extra, identity, param_counts and
    assert_finite. `headline` names the row value the progress line shows, under `headline_label`."""

    headline, headline_label = "episode_return", "episode return"

    def __init__(self, cfg, log):
        self.cfg, self.log = cfg, log
        self.device = torch.device(cfg.device)
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.epoch, self.rows, self.wall_before, self.cpu_before = 0, [], 0.0, 0.0

    # --- what a subclass provides ---------------------------------------------------------
    def train_epoch(self, started: float) -> dict:
        raise NotImplementedError

    def weights(self) -> dict:
        """What a checkpoint holds for evaluation (no optimiser or buffer)."""
        raise NotImplementedError

    def extra_state(self) -> dict:
        """Everything besides epoch and rows that a bit-identical resume needs."""
        raise NotImplementedError

    def restore_extra(self, state: dict) -> None:
        raise NotImplementedError

    def identity(self) -> dict:
        """The fields that name this run in status.json."""
        raise NotImplementedError

    def param_counts(self) -> dict:
        raise NotImplementedError

    def assert_finite(self) -> None:
        raise NotImplementedError

    # --- checkpoints ----------------------------------------------------------------------
    def full_state(self, wall_s: float) -> dict:
        return {"config": to_yaml(self.cfg), "epoch": self.epoch, "rows": self.rows, "wall_s": wall_s,
                "cpu_s": self.rows[-1]["cpu_s"] if self.rows else 0.0,
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                **self.extra_state()}

    def restore(self, state: dict) -> None:
        self.epoch, self.rows, self.wall_before = state["epoch"], state["rows"], state["wall_s"]
        self.cpu_before = state.get("cpu_s", 0.0)  # states written before cpu_s was logged have none
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.restore_extra(state)

    def save(self, run: RunDir, wall_s: float) -> None:
        self.assert_finite()  # never checkpoint a diverged model
        checkpoint.save_atomic(self.weights(), checkpoint.epoch_file(run.checkpoints, self.epoch))
        checkpoint.save_atomic(self.full_state(wall_s), checkpoint.epoch_file(run.state, self.epoch))
        checkpoint.prune(run.state, STATES_KEPT)
        run.write_metrics(self.rows)

    # --- the whole run --------------------------------------------------------------------
    def run(self, run: RunDir, stop: "StopFlag | None" = None) -> int:
        """`stop`: the signal flag installed when the process started (pwm.cli), so that a signal
        that arrives while the trainer is being built is not lost."""
        cfg = self.cfg
        stop = stop or StopFlag()
        _write_or_check_config(run, cfg)
        previous = _read_status(run, self.log)
        if previous.get("state") == "diverged":  # resuming would diverge again, bit for bit
            self.log(f"{run.root} diverged before ({previous.get('reason')}); delete it to start over")
            return EXIT_DIVERGED
        write_json_atomic(run.param_counts, self.param_counts())
        # on the CPU: RNG states must stay CPU byte tensors; modules and optimisers copy onto their device
        try:
            state = checkpoint.load_newest_readable(run.state, "cpu", self.log, accept=lambda s: same_run(s["config"], cfg))
        except checkpoint.NoUsableStateError as err:
            if not cfg.restart_if_no_state:
                raise ConfigError(str(err)) from None
            self.log(f"{err}: starting over as asked")
            state = None
        if state is not None:
            self.restore(state)
            self.log(f"resumed from epoch {self.epoch} of {cfg.epochs}")
        self.log(precision.describe(cfg.agent.precision, self.device))
        status = dict(epoch=self.epoch, epochs=cfg.epochs, **self.identity(), resumed_from=self.epoch, device=cfg.device,
                      precision=precision.resolved(cfg.agent.precision, self.device))
        if stop.signal is not None:
            run.write_status("interrupted", reason=f"received {stop.signal.name} before training started; "
                             "nothing new written", **status)
            self.log(f"{stop.signal.name} received before training started, exiting {EXIT_INTERRUPTED}")
            stop.restore()
            return EXIT_INTERRUPTED
        started, cpu_started = time.monotonic(), time.process_time()
        run.write_status("running", reason=None, **status)
        track = tracker(cfg.tracking, run.root, self.epoch)
        progress = _progress(cfg, self.epoch, self.headline, self.headline_label, self.log)
        try:
            while self.epoch < cfg.epochs:
                row = self.train_epoch(started)
                row["cpu_s"] = self.cpu_before + time.process_time() - cpu_started  # all threads, all attempts
                self.rows.append(row)
                if track:
                    track.log(row)
                status.update(epoch=self.epoch, **({"env_steps": row["env_steps"]} if "env_steps" in row else {}))
                progress(row)
                if self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs:
                    self.save(run, row["wall_s"])
                    run.write_status("running", reason=None, **status)
                elif self.epoch % cfg.log_every == 0:
                    run.write_metrics(self.rows)
                if stop.signal is not None:
                    self.save(run, row["wall_s"])
                    run.write_status("interrupted", reason=f"received {stop.signal.name}; checkpoint written", **status)
                    self.log(f"{stop.signal.name} received: checkpoint at epoch {self.epoch} written, exiting {EXIT_INTERRUPTED}")
                    return EXIT_INTERRUPTED
        except DivergenceError as err:
            run.write_metrics(self.rows)
            run.write_status("diverged", reason=str(err), loss=err.what, diverged_at_epoch=self.epoch + 1, **status)
            self.log(f"diverged at epoch {self.epoch + 1}: {err}")
            return EXIT_DIVERGED
        finally:
            stop.restore()
            if track:
                track.close()
        _write_final(run, self.epoch, run.write_status("completed", reason=None, **status))
        return EXIT_COMPLETED


def _read_status(run: RunDir, log) -> dict:
    """The previous status.json, or {} when there is none or it is damaged (it is rewritten)."""
    try:
        status = json.loads(run.status.read_text()) if run.status.exists() else {}
    except (OSError, ValueError) as err:
        log(f"{run.status} is unreadable ({type(err).__name__}: {err}); it will be rewritten")
        return {}
    return status if isinstance(status, dict) else {}


def same_run(config_text: str, cfg) -> bool:
    """A saved configuration (a resume state's, a run folder's) is this run's when it equals this
    one in everything but where the folder is (the folder may move)."""
    try:
        saved = from_yaml_text(config_text, type(cfg))
    except Exception:
        return False
    return _comparable(saved) == _comparable(cfg)


def _comparable(cfg):
    """What makes a run this run: everything but where its folder is, how to resume it and where
    else its metrics are written."""
    return dataclasses.replace(cfg, run_dir="", restart_if_no_state=False, tracking="none")


def _write_or_check_config(run: RunDir, cfg) -> None:
    text = to_yaml(cfg)
    if run.config.exists():
        try:
            saved = from_yaml_text(run.config.read_text(), type(cfg))
        except Exception as err:  # empty, truncated, not YAML, foreign keys
            raise ConfigError(f"{run.config} is unreadable ({type(err).__name__}: {str(err).splitlines()[0]}); "
                              "it names the run's configuration: restore it, or use a new run directory") from None
        if _comparable(saved) != _comparable(cfg):  # a run folder may be moved
            raise ConfigError(f"{run.root} holds a run with another configuration ({run.config}); "
                              "use a new run directory or the same overrides")
        return
    write_text_atomic(run.config, text)


def _write_final(run: RunDir, epoch: int, status: dict) -> None:
    """The finished artefacts; status.json last, so its presence means all are there."""
    run.final.mkdir(exist_ok=True)
    shutil.copyfile(checkpoint.epoch_file(run.checkpoints, epoch), run.final / "checkpoint.pt")
    shutil.copyfile(run.metrics, run.final / "metrics.parquet")
    write_json_atomic(run.final / "status.json", status)


class StopFlag:
    """Remembers the first SIGTERM / SIGINT / SIGUSR1; the loop checkpoints and exits after the epoch."""

    def __init__(self):
        self.signal = None
        self.previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum)

    def restore(self):
        for s, handler in self.previous.items():
            signal.signal(s, handler)


def _progress(cfg, start_epoch: int, headline: str, label: str, log):
    """A tqdm bar on a terminal; a plain line every `log_every` epochs otherwise (batch logs).
    NaN values of the headline (no episode finished this epoch) keep the last real one."""
    last = float("nan")

    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=cfg.epochs, initial=start_epoch, unit="epoch")

        def show(row):
            bar.update(1)
            bar.set_postfix({headline: row[headline]}, refresh=False)
        return show

    def line(row):
        nonlocal last
        if row[headline] == row[headline]:
            last = row[headline]
        if row["epoch"] % cfg.log_every == 0 or row["epoch"] == cfg.epochs:
            steps = f" env_steps {row['env_steps']}" if "env_steps" in row else ""
            log(f"epoch {row['epoch']}/{cfg.epochs}{steps} last {label} {last:.1f} wall {row['wall_s']:.0f}s")
    return line
