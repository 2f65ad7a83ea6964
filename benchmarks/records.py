"""Finished benchmark runs, kept in the repository so that a table larger than one session adds
up over sessions: a session's machine (and the run folders on it) may not be there for the next
one, but a committed record is. One JSON line per finished run: its key, the configuration it
was trained with, a fingerprint of the learner's code, and what was measured.

A record stands in for a run only while both still hold: the planned configuration is the
recorded one (`pwm.loop.same_run`, the rule pwm-train resumes by) and the code that trains and
evaluates is the recorded code (`learner_fingerprint`). Otherwise the run is trained again and
its new record replaces the old one.
"""
import ast
import fcntl
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import torch

import pwm
from pwm.config import compose_config
from pwm.loop import same_run
from pwm.precision import resolved

RECORDS_DIR = Path(__file__).parent / "records"
# What training and evaluation run: these modules, what they import from pwm, and every task wrapper.
LEARNER_ENTRY_POINTS = ("pwm.trainer", "pwm.evaluate")


def learner_fingerprint() -> str:
    """sha256 over the syntax trees of every pwm module that training and evaluation import (and
    of pwm.envs), docstrings left out: a change of code changes it, a change of comments,
    docstrings or layout does not. The modules are those a fresh interpreter loads for the entry
    points, so what else the calling process has imported (pwm.report, say) does not count."""
    package = Path(pwm.__file__).parent
    sources = {Path(line) for line in _imported_files(LEARNER_ENTRY_POINTS)}
    sources |= set((package / "envs").glob("*.py"))
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(_code_only(path.read_text()).encode())
    return digest.hexdigest()[:16]


def _imported_files(entry_points: tuple[str, ...]) -> list[str]:
    """The files of the pwm modules that importing `entry_points` loads, in a fresh interpreter."""
    probe = (f"import sys\nimport {', '.join(entry_points)}\n"
             "print('\\n'.join(m.__file__ for n, m in list(sys.modules.items()) "
             "if n.startswith('pwm.') and getattr(m, '__file__', None)))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(pwm.__file__).parent.parent)
    return run.stdout.split()


def _code_only(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


class Records:
    """The records of one benchmark (`records/<name>.jsonl`), safe to add to from worker threads
    and from several benchmark processes at once (each addition merges into the file as it is)."""

    def __init__(self, name: str, folder: Path = RECORDS_DIR):
        self.path = folder / f"{name}.jsonl"
        self.fingerprint = learner_fingerprint()
        self.lock = threading.Lock()
        self.by_key = self._parse(self.path.read_text()) if self.path.exists() else {}

    @classmethod
    def _parse(cls, text: str) -> dict:
        return {cls._key(r): r for r in map(json.loads, filter(None, text.splitlines()))}

    @staticmethod
    def _key(record: dict) -> tuple:
        return record["label"], record["task"], record["variant"], record["seed"], record["agent_steps"]

    def find(self, job: dict, episodes: int) -> dict | None:
        """The record that stands in for this planned run, or None (none, or trained otherwise)."""
        record = self.by_key.get(self._key(job))
        if record is None or record["learner"] != self.fingerprint or record["episodes"] != episodes:
            return None
        planned = compose_config("train", [f"run_dir={job['run_dir']}", *job["overrides"]])
        if record.get("precision", "fp32") != resolved(planned.agent.precision, torch.device(planned.device)):
            return None  # agent.precision=auto computes otherwise on this machine
        return record if same_run(record["config"], planned) else None

    def add(self, job: dict, config_text: str, episodes: int, measured: dict) -> None:
        record = {"label": job["label"], "task": job["task"], "variant": job["variant"], "seed": job["seed"],
                  "agent_steps": job["agent_steps"], "episodes": episodes, "learner": self.fingerprint,
                  **measured, "config": config_text}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, open(self.path, "a+") as file:  # "a+": created if missing, never emptied by opening
            fcntl.flock(file, fcntl.LOCK_EX)
            file.seek(0)
            self.by_key = {**self._parse(file.read()), self._key(record): record}
            ordered = sorted(self.by_key.values(), key=lambda r: tuple(map(str, self._key(r))))
            file.seek(0)
            file.truncate()
            file.write("".join(json.dumps(r) + "\n" for r in ordered))
