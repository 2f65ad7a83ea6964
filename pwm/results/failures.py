"""Why a job failed, read from the logs it left, and identical failures grouped into one row.

The cause is the last Python traceback's final line (`ModuleNotFoundError: No module named
'envs'`) with the innermost frame it was raised in, or the line with which SLURM killed the job
(out of memory, time limit, ...), whichever came last. A job killed by SLURM leaves no
traceback, so the SLURM log is the only place its cause is written.

The train rule appends to its log across attempts, so a traceback followed by training progress
belongs to an earlier attempt that was resumed afterwards; it is not the run's failure.
"""
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TAIL_BYTES = 64 * 1024  # a failure is at the end of a log; training logs grow to megabytes
TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+)')
_PROGRESS = re.compile(r"^(?:epoch \d+/\d+ |resumed from epoch \d+)")  # pwm-train's progress lines
_OOM = re.compile(r"slurmstepd: error: Detected \d+ oom[-_]kill event")
_CANCELLED = re.compile(
    r"\*\*\* (?:JOB|STEP) [\d.]+ ON (?P<node>\S+) CANCELLED AT \S+(?: DUE TO (?P<why>[A-Z ]+?))? \*\*\*")
_SLURM_REASONS = {  # SLURM's words -> its job state name, as sacct reports it
    None: "CANCELLED", "TIME LIMIT": "TIMEOUT", "PREEMPTION": "PREEMPTED", "NODE FAILURE": "NODE_FAIL",
}
SHOWN = 6  # subjects listed per group before "and N more"


@dataclass(frozen=True)
class Failure:
    """One failure: exception type (or SLURM job state) and message, where it was raised
    (innermost traceback frame, or the node SLURM killed the job on) and the log it came from."""

    exception: str
    message: str
    origin: str
    log: str

    @property
    def key(self) -> tuple[str, str]:
        """Failures with the same key are the same failure, whichever job had it."""
        return self.exception, self.message


def read_tail(path: Path, size: int = TAIL_BYTES) -> str:
    """The last `size` bytes of a text file (the whole file if shorter); '' if it is missing."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _traceback(lines: list[str], log: str) -> tuple[int, Failure] | None:
    """(line index of the exception line, failure) of the last traceback in `lines`."""
    starts = [i for i, line in enumerate(lines) if line.strip() == TRACEBACK]
    if not starts:
        return None
    origin = ""
    for i in range(starts[-1] + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line[0].isspace():
            frame = _FRAME.match(line)
            if frame:
                origin = f"{frame['file']}:{frame['line']}"
            continue
        exception, _, message = line.strip().partition(": ")
        return i, Failure(exception, message, origin, log)
    return None


def _slurm_kill(lines: list[str], log: str) -> tuple[int, Failure] | None:
    """(line index, failure) of the last line with which SLURM ended the job."""
    for i in range(len(lines) - 1, -1, -1):
        if _OOM.search(lines[i]):
            return i, Failure("SLURM OUT_OF_MEMORY", "killed by SLURM: the job exceeded its memory request", "", log)
        cancelled = _CANCELLED.search(lines[i])
        if cancelled:
            state = _SLURM_REASONS.get(cancelled["why"]) or cancelled["why"].replace(" ", "_")
            why = f"due to {cancelled['why'].lower()}" if cancelled["why"] else "(scancel or the job's owner)"
            return i, Failure(f"SLURM {state}", f"cancelled by SLURM {why}", cancelled["node"], log)
    return None


def last_failure(text: str, log: str) -> Failure | None:
    """The failure that ended the log's last attempt, or None if the log ends without one."""
    lines = text.splitlines()
    found = [hit for hit in (_traceback(lines, log), _slurm_kill(lines, log)) if hit is not None]
    if not found:
        return None
    index, failure = max(found, key=lambda hit: hit[0])
    if any(_PROGRESS.match(line) for line in lines[index + 1:]):
        return None
    return failure


def log_failure(path: Path) -> Failure | None:
    """last_failure of a log file's tail."""
    return last_failure(read_tail(path), str(path))


def from_reason(reason: str, log: str) -> Failure:
    """A failure from status.json's reason ("Type: message"), for runs whose log says nothing."""
    exception, _, message = reason.partition(": ")
    return Failure(exception, message, "", log)


@dataclass(frozen=True)
class JobError:
    """A job Snakemake reported as failed: its rule, its log files and its declared outputs."""

    rule: str
    logs: tuple[str, ...]
    outputs: tuple[str, ...]
    external_jobid: str


def _paths(value: str) -> tuple[str, ...]:
    value = value.split(" (check log file", 1)[0]
    return tuple(p.strip() for p in value.split(",") if p.strip())


def snakemake_errors(text: str) -> list[JobError]:
    """The 'Error in rule ...' blocks of a Snakemake log."""
    lines, errors = text.splitlines(), []
    for i, line in enumerate(lines):
        match = re.match(r"Error in rule (\S+?):?$", line.strip())
        if not match:
            continue
        fields = {}
        for detail in lines[i + 1:]:
            if not detail.startswith(" "):
                break
            key, _, value = detail.strip().partition(": ")
            fields.setdefault(key, value)
        errors.append(JobError(match[1], _paths(fields.get("log", "")), _paths(fields.get("output", "")),
                               fields.get("external_jobid", "")))
    return errors


@dataclass(frozen=True)
class FailureGroup:
    """Every subject (run or job) that failed with the same exception and message."""

    failure: Failure
    subjects: tuple[str, ...]
    logs: tuple[str, ...]
    origins: tuple[str, ...]

    def affected(self) -> str:
        shown = ", ".join(self.subjects[:SHOWN])
        rest = len(self.subjects) - SHOWN
        return f"{shown} and {rest} more" if rest > 0 else shown


def group(failures: Iterable[tuple[str, Failure]]) -> list[FailureGroup]:
    """One group per distinct (exception, message), largest first; subjects in input order."""
    groups: dict[tuple[str, str], list[tuple[str, Failure]]] = {}
    for subject, failure in failures:
        groups.setdefault(failure.key, []).append((subject, failure))
    rows = [FailureGroup(members[0][1], tuple(s for s, _ in members),
                         tuple(dict.fromkeys(f.log for _, f in members if f.log)),
                         tuple(dict.fromkeys(f.origin for _, f in members if f.origin)))
            for members in groups.values()]
    return sorted(rows, key=lambda g: -len(g.subjects))
