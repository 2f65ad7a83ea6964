"""The pipeline on a live SLURM cluster, through `--profile profiles/slurm` plus the site values of
the single-node cluster that `ci/slurm-cluster.sh up` starts (`--profile profiles/slurm-local`):
the tiny sweep gives the same tables as a local run, and a training job survives scancel, a hard
kill, its time limit and the pre-timeout signal, resuming from its checkpoint with every epoch
logged exactly once.

Most of a small SLURM job's life is Snakemake polling for its state, so the five scenarios run at
the same time (a module fixture starts them; each test waits for its own and checks it): a few
minutes on 2 cores. Skipped when SLURM is not installed or the cluster is not up (or is another
cluster than ci/slurm-cluster.sh's); with PWM_REQUIRE_SLURM=1 (CI) that is a failure instead.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from workflow_helpers import REPO, SNAKEFILE, SNAKEMAKE, TOOL_ENV
from pwm.run_dir import read_parquet_once

CLUSTER = "pwm-ci"  # ClusterName in the slurm.conf that ci/slurm-cluster.sh writes
CONFIGS = [REPO / "tests" / "configs" / "tiny.yaml", REPO / "tests" / "configs" / "slurm.yaml"]
LOCAL = ["--workflow-profile", REPO / "profiles" / "default"]  # what a plain `snakemake` applies
ON_SLURM = [*LOCAL, "--profile", REPO / "profiles" / "slurm", "--profile", REPO / "profiles" / "slurm-local"]
RUN = Path("results/runs/cartpole-swingup/1M/mlp/seed1")
TRAIN_LOG = Path("results/logs/train/cartpole-swingup/1M/mlp/seed1.log")
ENV = TOOL_ENV
VOLATILE = ["wall_s", "cpu_s", "eta_s", "updated", "slurm_job_id", "heartbeat_age_s", "max_rss_mb",
            "train_hours", "cpu_hours", "gpu_hours", "return_per_hour"]  # clocks, memory and job ids differ by nature
LIMIT = 900  # seconds for any one Snakemake run; then `timeout` sends SIGINT and it cancels its jobs


def cluster_problem() -> str | None:
    """Why the tests cannot run on this machine's SLURM, or None."""
    up = "start it with `ci/slurm-cluster.sh up` (as root)"
    if shutil.which("sinfo") is None:
        return f"SLURM is not installed (no sinfo); {up}, which installs it too"
    try:
        nodes = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
        config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return f"the SLURM controller does not answer; {up}"
    if nodes.returncode or config.returncode:
        return f"the SLURM cluster is down ({(nodes.stderr or config.stderr).strip()}); {up}"
    name = re.search(r"^ClusterName\s*=\s*(\S+)", config.stdout, re.MULTILINE)
    if name is None or name.group(1) != CLUSTER:
        return (f"the running SLURM cluster is not ci/slurm-cluster.sh's {CLUSTER!r} but "
                f"{name.group(1) if name else 'unnamed'}; these tests submit jobs to its partition")
    if not {s.rstrip("*~#!%$@^-") for s in nodes.stdout.split()} & {"idle", "mixed", "allocated", "completing"}:
        return f"no SLURM node is up (states: {nodes.stdout.split()}); {up}"
    return None


class Queue:
    """What squeue shows, polled every second: job id -> comment, work dir, time limit, states seen."""

    def __init__(self):
        self.jobs: dict[str, SimpleNamespace] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(1.0):
            for jobid, state, comment, limit, workdir in squeue("%i|%T|%k|%l|%Z"):
                with self._lock:
                    job = self.jobs.setdefault(jobid, SimpleNamespace(comment=comment, workdir=workdir, states=set()))
                    job.limit = limit
                    job.states.add(state)

    def of(self, workdir: Path, rule: str) -> dict[str, SimpleNamespace]:
        """The jobs of `rule` submitted from `workdir`, by job id."""
        with self._lock:
            return {i: j for i, j in self.jobs.items()
                    if j.workdir == str(workdir) and j.comment.startswith(f"rule_{rule}")}

    def stop(self):
        self._stop.set()
        self._thread.join()


def squeue(fields: str, *args) -> list[list[str]]:
    out = subprocess.run(["squeue", "-h", "-o", fields, *args], capture_output=True, text=True, timeout=30)
    return [line.split("|") for line in out.stdout.splitlines()]


def cancel_jobs_under(root: Path):
    """Cancel every job submitted from below `root` and wait until SLURM has cleaned them up."""
    mine = lambda: [i for i, workdir in squeue("%i|%Z") if workdir.startswith(str(root))]
    if mine():
        subprocess.run(["scancel", *mine()], timeout=30)
    deadline = time.monotonic() + 90  # the cluster's KillWait is 30 s
    while mine() and time.monotonic() < deadline:
        time.sleep(1)


def start(workdir: Path, *args, profiles=ON_SLURM, configs=CONFIGS, bounded=True) -> subprocess.Popen:
    """Snakemake on the repository's workflow in `workdir`, output to workdir/snakemake.log.
    Bounded: under `timeout -s INT` (on SIGINT Snakemake cancels its SLURM jobs; on SIGTERM it
    would wait for them). Unbounded, the process is Snakemake itself, to be killed by the caller."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [SNAKEMAKE, "--snakefile", SNAKEFILE, *profiles, *args, "--configfile", *configs]
    if bounded:
        cmd = ["timeout", "-s", "INT", "-k", "30", str(LIMIT), *cmd]
    with open(workdir / "snakemake.log", "a") as log:
        proc = subprocess.Popen(list(map(str, cmd)), cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=ENV,
                                start_new_session=True)
    proc.workdir = workdir
    return proc


def finish(proc: subprocess.Popen) -> int:
    try:
        return proc.wait(timeout=LIMIT + 60)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def one_run(workdir: Path, epochs: int, every: int, runtime: int | None = None) -> list[Path]:
    """The config files of a sweep of one run (mlp, seed 1) of `epochs` epochs."""
    config = {"dynamics": [{"kind": "mlp"}], "seeds": [1],
              "budgets": {"1M": {"epochs": epochs, "checkpoint_every": every}}}
    if runtime is not None:
        config["resources"] = {"train": {"runtime": {"1M": runtime}}}
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "run.yaml").write_text(yaml.safe_dump(config))
    return [*CONFIGS, workdir / "run.yaml"]


def status(workdir: Path) -> dict:
    path = workdir / RUN / "status.json"
    return json.loads(path.read_text()) if path.exists() else {}


def wait_for(condition, proc: subprocess.Popen | None, what: str, timeout: float = 600):
    """Poll `condition` until it returns something truthy; fail if the pipeline ends first."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        tail = lambda: (proc.workdir / "snakemake.log").read_text()[-3000:] if proc else ""
        assert proc is None or proc.poll() is None, f"the pipeline ended before {what}:\n{tail()}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s:\n{tail()}"
        time.sleep(0.2)
    return value


def training_at(workdir: Path, epoch: int, proc: subprocess.Popen) -> dict:
    """The status of the run once its trainer, in a SLURM job, has checkpointed at `epoch` or later."""
    return wait_for(lambda: (s := status(workdir)).get("epoch", 0) >= epoch and s.get("slurm_job_id") and s,
                    proc, f"checkpoint at epoch {epoch}")


def interruption(workdir: Path, proc: subprocess.Popen, timeout: float = 120) -> SimpleNamespace:
    """The run's status and trainer log once the trainer has checkpointed on a signal and said so,
    read before the retry (seconds later) starts and Snakemake replaces the log."""
    def seen():
        log = (workdir / TRAIN_LOG).read_text() if (workdir / TRAIN_LOG).exists() else ""
        return (s := status(workdir)).get("state") == "interrupted" and "exiting 75" in log and \
            SimpleNamespace(status=s, log=log)
    return wait_for(seen, proc, "the trainer's checkpoint on a signal", timeout)


def outcome(workdir: Path, rc: int, **facts) -> SimpleNamespace:
    return SimpleNamespace(workdir=workdir, rc=rc, output=(workdir / "snakemake.log").read_text(),
                           log=(workdir / TRAIN_LOG).read_text() if (workdir / TRAIN_LOG).exists() else "",
                           **facts)


# --- the scenarios ------------------------------------------------------------------------------

def sweep(root: Path, queue: Queue) -> SimpleNamespace:
    """The tiny sweep on SLURM and, at the same time, locally."""
    local = start(root / "local", "--cores", "1", profiles=LOCAL, bounded=False)  # leaves the CPUs to SLURM
    try:
        on_slurm = finish(start(root / "slurm"))
    finally:
        local_rc = finish(local)
    rules = ("preflight", "train", "evaluate")
    return outcome(root / "slurm", on_slurm, local=root / "local", local_rc=local_rc,
                   jobs={rule: queue.of(root / "slurm", rule) for rule in rules})


def cancelled(root: Path, queue: Queue) -> SimpleNamespace:
    """scancel of the train job once it has checkpointed twice."""
    workdir = root / "scancel"
    proc = start(workdir, RUN / "final/status.json", configs=one_run(workdir, epochs=100, every=10))
    try:
        job = training_at(workdir, 20, proc)["slurm_job_id"]
        subprocess.run(["scancel", job], check=True, timeout=30)
        stopped = interruption(workdir, proc)
    finally:
        rc = finish(proc)
    return outcome(workdir, rc, job=job, stopped=stopped)


def hard_killed(root: Path, queue: Queue) -> SimpleNamespace:
    """SIGKILL of Snakemake and of every process of the train job (as a crashed node would)."""
    workdir = root / "kill"
    configs = one_run(workdir, epochs=100, every=10)
    target = RUN / "final/status.json"
    proc = start(workdir, target, configs=configs, bounded=False)
    try:
        job = training_at(workdir, 20, proc)["slurm_job_id"]
        listed = subprocess.run(["scontrol", "listpids", job], capture_output=True, text=True, check=True, timeout=30)
        pids = [int(line.split()[0]) for line in listed.stdout.splitlines()[1:]]  # under a header line
        for pid in [proc.pid, *pids]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=60)
        wait_for(lambda: not squeue("%i", "-j", job, "-t", "PD,R,CG,S"), None, f"end of job {job}", timeout=120)
    finally:
        stop(proc)
    killed = SimpleNamespace(status=status(workdir), final=(workdir / RUN / "final/status.json").exists(),
                             incomplete=len(list((workdir / ".snakemake/incomplete").glob("*"))))
    bare = [SNAKEMAKE, "--snakefile", SNAKEFILE, "--workflow-profile", "none"]  # no profile: no --rerun-incomplete
    unlock = subprocess.run([*bare, "--unlock", "--configfile", *configs], cwd=workdir, env=ENV, capture_output=True,
                            timeout=300)
    plain = subprocess.run([*bare, "-n", target, "--configfile", *configs], cwd=workdir, env=ENV, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    rc = finish(start(workdir, target, "--rerun-incomplete", configs=configs))
    return outcome(workdir, rc, job=job, killed=killed, unlock=unlock.returncode, plain=plain)


def timed_out(root: Path, queue: Queue) -> SimpleNamespace:
    """A 1-minute limit on the first attempt of a run far too long to finish, followed until its
    retry trains on; then Ctrl-C. Without the pre-timeout signal, which would come before a
    1-minute job even starts, so that the job really runs into its time limit."""
    workdir = root / "timeout"
    configs = one_run(workdir, epochs=5000, every=500, runtime=1)
    proc = start(workdir, RUN / "final/status.json", "--set-resources", "train:slurm_extra=''", configs=configs)
    try:
        stopped = interruption(workdir, proc, timeout=LIMIT)
        epoch = stopped.status["epoch"]
        resumed = wait_for(lambda: (s := status(workdir)).get("resumed_from") == epoch and s, proc, "the retry")
        trained = wait_for(lambda: (m := live_metrics(workdir)) is not None and m.epoch.max() >= epoch + 20
                           and m.epoch.tolist(), proc, "training after the resume")  # the logged epochs
        log = (workdir / TRAIN_LOG).read_text()
    finally:
        stop(proc)  # Ctrl-C: Snakemake cancels the retry
    return outcome(workdir, proc.returncode, jobs=queue.of(workdir, "train"), stopped=stopped, resumed=resumed,
                   trained=trained, resumed_log=log)


def live_metrics(workdir: Path) -> pd.DataFrame | None:
    path = workdir / RUN / "metrics.parquet"
    return read_parquet_once(path) if path.exists() else None  # the trainer replaces it meanwhile


def signalled(root: Path, queue: Queue) -> SimpleNamespace:
    """The signal the SLURM profile asks for before the time limit, sent now, the way SLURM sends it."""
    extra = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())["set-resources"]["train"]["slurm_extra"]
    batch, name = re.search(r"--signal=(B:)?(\w+)@\d+", extra).groups()
    workdir = root / "signal"
    proc = start(workdir, RUN / "final/status.json", configs=one_run(workdir, epochs=100, every=10))
    try:
        job = training_at(workdir, 20, proc)["slurm_job_id"]
        subprocess.run(["scancel", f"--signal={name}", *(["--batch"] if batch else []), job], check=True, timeout=30)
        stopped = interruption(workdir, proc)
    finally:
        rc = finish(proc)
    return outcome(workdir, rc, job=job, signal=f"SIG{name}", stopped=stopped)


SCENARIOS = {"test_tiny_sweep_on_slurm_equals_the_local_run": sweep,
             "test_scancel_of_a_train_job_resumes_on_retry": cancelled,
             "test_hard_kill_then_rerun_incomplete_resumes": hard_killed,
             "test_timeout_is_retried_with_more_runtime_and_resumes": timed_out,
             "test_pre_timeout_signal_checkpoints_and_the_retry_resumes": signalled}


@pytest.fixture(scope="module")
def scenarios(request, tmp_path_factory):
    """The selected tests' scenarios, all started at once; name -> future of its outcome."""
    problem = cluster_problem()
    if problem:
        (pytest.fail if os.environ.get("PWM_REQUIRE_SLURM") == "1" else pytest.skip)(problem)
    root = tmp_path_factory.mktemp("slurm")
    selected = [name for name in SCENARIOS if any(item.name == name for item in request.session.items)]
    queue = Queue()
    pool = ThreadPoolExecutor(max_workers=len(SCENARIOS))

    def timed(scenario):
        def run():
            began = time.monotonic()
            result = scenario(root, queue)
            result.seconds = time.monotonic() - began
            return result
        return run

    yield {name: pool.submit(timed(SCENARIOS[name])) for name in selected}
    pool.shutdown(wait=True)
    queue.stop()
    cancel_jobs_under(root)
    assert not [i for i, w in squeue("%i|%Z") if w.startswith(str(root))], "jobs left behind"


def result(scenarios, request) -> SimpleNamespace:
    outcome = scenarios[request.node.name].result(timeout=2 * LIMIT)
    print(f"{request.node.name}: {outcome.seconds:.0f} s")
    return outcome


def metrics(workdir: Path) -> pd.DataFrame:
    return pd.read_parquet(workdir / RUN / "final/metrics.parquet")


def assert_resumed_and_complete(run: SimpleNamespace, epochs: int) -> dict:
    assert run.rc == 0, run.output[-5000:]
    final = json.loads((run.workdir / RUN / "final/status.json").read_text())
    assert final["state"] == "completed" and final["resumed_from"] > 0, final
    assert f"resumed from epoch {final['resumed_from']} of {epochs}" in run.log, run.log[-3000:]
    assert metrics(run.workdir).epoch.tolist() == list(range(1, epochs + 1))  # every epoch exactly once
    return final


# --- the tests ----------------------------------------------------------------------------------

def test_tiny_sweep_on_slurm_equals_the_local_run(scenarios, request):
    run = result(scenarios, request)
    assert run.rc == 0, run.output[-5000:]
    assert run.local_rc == 0, (run.local / "snakemake.log").read_text()[-5000:]
    # Every compute job went through SLURM, seen in squeue while it ran; the cheap bookkeeping
    # (aggregate, figures, tables, status) ran in Snakemake itself.
    local_rules = set(re.findall(r"^localrule (\w+):", run.output, re.MULTILINE))
    assert {"all", "aggregate", "status_report"} <= local_rules
    assert not local_rules & {"preflight", "train", "evaluate"}
    assert len([j for j in run.jobs["train"].values() if "RUNNING" in j.states]) == 4, run.jobs
    assert 1 <= len(run.jobs["evaluate"]) <= 4, run.jobs  # at most one evaluation job per run
    for rule in ("preflight", "evaluate"):
        assert any("RUNNING" in j.states for j in run.jobs[rule].values()), (rule, run.jobs)
    tables = run.workdir / "results" / "metrics"
    for name in ("training", "evaluations", "runs", "leaderboard", "status"):
        on_slurm, local = (pd.read_parquet(folder / "results" / "metrics" / f"{name}.parquet")
                           for folder in (run.workdir, run.local))
        pd.testing.assert_frame_equal(on_slurm.drop(columns=VOLATILE, errors="ignore"),
                                      local.drop(columns=VOLATILE, errors="ignore"), check_exact=True, obj=name)
    runs = pd.read_parquet(tables / "runs.parquet")
    assert runs.slurm_job_id.notna().all() and set(runs.slurm_job_id) <= set(run.jobs["train"])
    for folder in (run.workdir, run.local):  # the page itself holds clocks and hosts; its numbers are the tables'
        assert "## Leaderboard" in (folder / "results/report/status/status.md").read_text()


def test_scancel_of_a_train_job_resumes_on_retry(scenarios, request):
    run = result(scenarios, request)
    # scancel sends SIGTERM first: the trainer checkpointed where it was and exited 75.
    epoch = run.stopped.status["epoch"]
    assert f"SIGTERM received: checkpoint at epoch {epoch} written, exiting 75" in run.stopped.log
    assert f"SLURM-job '{run.job}' failed, SLURM status is: 'CANCELLED'" in run.output
    assert "Trying to restart job" in run.output
    final = assert_resumed_and_complete(run, 100)
    assert final["resumed_from"] == epoch >= 20


def test_hard_kill_then_rerun_incomplete_resumes(scenarios, request):
    run = result(scenarios, request)
    killed = run.killed
    assert killed.status["state"] == "running" and not killed.final  # died without a word
    assert killed.incomplete > 0  # Snakemake's markers: the train job started and never finished
    assert run.unlock == 0
    # The plain rerun (no --rerun-incomplete) does not refuse: train's outputs appear only on
    # completion, so nothing incomplete exists; it plans train again for its missing outputs.
    assert run.plain.returncode == 0, run.plain.stdout[-3000:]
    assert "IncompleteFilesException" not in run.plain.stdout
    assert re.search(rf"reason: Missing output files: .*{RUN}/final/status.json", run.plain.stdout), run.plain.stdout
    final = assert_resumed_and_complete(run, 100)
    # No signal before SIGKILL: training resumed from the last periodic checkpoint.
    assert final["resumed_from"] >= 20 and final["resumed_from"] % 10 == 0
    assert "exiting 75" not in run.log


def test_timeout_is_retried_with_more_runtime_and_resumes(scenarios, request):
    run = result(scenarios, request)
    (first, job), (retry, again), *_ = sorted(run.jobs.items(), key=lambda item: int(item[0]))
    assert job.limit == "1:00" and f"SLURM-job '{first}' failed, SLURM status is: 'TIMEOUT'" in run.output
    assert again.limit == "2:00" and "RUNNING" in again.states, run.jobs  # runtime = attempt x 1 minute
    # At the limit SLURM sent SIGTERM: the trainer checkpointed where it was and exited 75.
    epoch = run.stopped.status["epoch"]
    assert epoch > 0 and f"SIGTERM received: checkpoint at epoch {epoch} written, exiting 75" in run.stopped.log
    # The retry resumed there and trained on, every epoch logged once.
    assert run.resumed["slurm_job_id"] == retry and f"resumed from epoch {epoch} of 5000" in run.resumed_log
    assert run.trained == list(range(1, len(run.trained) + 1)) and len(run.trained) >= epoch + 20


def test_pre_timeout_signal_checkpoints_and_the_retry_resumes(scenarios, request):
    run = result(scenarios, request)
    stopped = run.stopped.status
    assert stopped["reason"] == f"received {run.signal}; checkpoint written", stopped
    assert f"{run.signal} received: checkpoint at epoch {stopped['epoch']} written, exiting 75" in run.stopped.log
    # A clean exit: the job failed with the trainer's exit code; it was not killed or timed out.
    assert f"SLURM-job '{run.job}' failed, SLURM status is: 'FAILED'" in run.output
    final = assert_resumed_and_complete(run, 100)
    assert final["resumed_from"] == stopped["epoch"] >= 20
