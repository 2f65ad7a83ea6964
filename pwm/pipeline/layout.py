"""Where the pipeline puts things (the paths of workflow/rules/*.smk), and which runs exist on
disk. Kept in one place so that a change of layout in the workflow is a change here only."""
import re
from dataclasses import dataclass
from pathlib import Path

from pwm.pipeline.sweep import Run, Variant

_SEED = re.compile(r"^seed(0|[1-9]\d*)$")  # as the workflow names them: seed1, never seed01
_SEED_LOG = re.compile(r"^seed(0|[1-9]\d*)\.log$")

# The workflow's paths below its results directory: workflow/rules/*.smk build theirs from these.
RUN_DIR = "runs/{task}/{size}/{variant}/seed{seed}"
EVALUATION_DIR = "evaluations/{task}/{size}/{variant}/seed{seed}"  # pwm-eval's epoch{E}.parquet files
TRAIN_LOG = "logs/train/{task}/{size}/{variant}/seed{seed}.log"
PREFLIGHT = "preflight/{task}/{size}/{variant}.json"
PREFLIGHT_LOG = "logs/preflight/{task}/{size}/{variant}.log"
CLIPS_ROOT = "report/clips"
CLIPS_DIR = CLIPS_ROOT + "/{task}/{size}/{variant}"  # best.gif, worst.gif, clips.json (pwm.clips)
MT_ROOT = "multitask/{task_set}/{size}/{variant}/seed{seed}"  # world_model/ and policy/{task}/
MT_EVALUATION_DIR = "evaluations/multitask/{task_set}/{size}/{variant}/seed{seed}/{task}"


@dataclass(frozen=True)
class Layout:
    """The results directory and the `.snakemake` folder of the workflow that fills it."""

    results: Path
    snakemake: Path

    @classmethod
    def of(cls, results: Path, snakemake: Path | None = None) -> "Layout":
        """Snakemake runs in the folder above results/, so its logs are in ../.snakemake by default."""
        results = Path(results)
        return cls(results, Path(snakemake) if snakemake else results.resolve().parent / ".snakemake")

    @property
    def workdir(self) -> Path:
        """The folder Snakemake ran in: paths in its logs are relative to it."""
        return self.snakemake.parent

    def run_dir(self, run: Run) -> Path:
        return self.results / RUN_DIR.format(**run.identity())

    def evaluation_dir(self, run: Run) -> Path:
        return self.results / EVALUATION_DIR.format(**run.identity())

    def train_log(self, run: Run) -> Path:
        return self.results / TRAIN_LOG.format(**run.identity())

    @property
    def clips(self) -> Path:
        """The policy clips of every configuration (CLIPS_DIR)."""
        return self.results / CLIPS_ROOT

    def preflight_output(self, task: str, size: str, variant: str) -> Path:
        return self.results / PREFLIGHT.format(task=task, size=size, variant=variant)

    def slurm_logs(self, rule: str, wildcards: list[str]) -> list[Path]:
        """SLURM logs of a rule's job, newest first (the SLURM executor names the folder after the
        wildcard values joined by '_', one file per SLURM job id)."""
        folder = self.snakemake / "slurm_logs" / f"rule_{rule}" / "_".join(wildcards)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)

    def snakemake_logs(self, newest: int) -> list[Path]:
        """The logs of the last `newest` Snakemake invocations, newest first."""
        folder = self.snakemake / "log"
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:newest]

    def preflight_logs(self) -> list[tuple[str, str, str, Path]]:
        """(task, size, variant, log) of every preflight log (PREFLIGHT_LOG)."""
        found = []
        for log in sorted(self.results.glob(PREFLIGHT_LOG.format(task="*", size="*", variant="*"))):
            found.append((log.parent.parent.name, log.parent.name, log.stem, log))
        return found

    def multitask_folders(self) -> list[dict]:
        """Every multi-task world model and per-task policy folder (the workflow's
        multitask/{task_set}/{size}/{variant}/seed{seed}/world_model and .../policy/{task})."""
        found = []
        for seed_dir in sorted(self.results.glob(MT_ROOT.format(task_set="*", size="*", variant="*", seed="*"))):
            seed = _SEED.match(seed_dir.name)
            if seed is None:
                continue
            variant, size, task_set = seed_dir.parent.name, seed_dir.parent.parent.name, seed_dir.parent.parent.parent.name
            where = {"task_set": task_set, "size": size, "variant": variant, "seed": int(seed[1])}
            if (seed_dir / "world_model").is_dir():
                found.append({"stage": "world model", **where, "task": "", "folder": seed_dir / "world_model"})
            for policy in sorted((seed_dir / "policy").glob("*")):
                found.append({"stage": "policy", **where, "task": policy.name, "folder": policy})
        return found

    def multitask_evaluation_dir(self, found: dict) -> Path:
        """pwm-eval's files of a multi-task policy (none for a world model)."""
        return self.results / MT_EVALUATION_DIR.format(**{**found, "task": found["task"] or "-"})

    def discovered_runs(self) -> tuple[set[Run], list[Path]]:
        """Runs with a run folder or a training log (a job can fail before making its folder),
        and the folders under runs/ where a run folder would be that the pipeline did not make."""
        found, strays = set(), []
        for template, pattern in ((RUN_DIR, _SEED), (TRAIN_LOG, _SEED_LOG)):
            top = Path(template).parents[3]  # runs/ and logs/train/ above {task}/{size}/{variant}/seed...
            for path in sorted((self.results / top).glob("*/*/*/*")):
                run = _parse(path, pattern)
                if run is not None:
                    found.add(run)
                elif template == RUN_DIR:
                    strays.append(path)
        return found, strays


def _parse(path: Path, pattern: re.Pattern) -> Run | None:
    seed = pattern.match(path.name)
    if seed is None:
        return None
    try:
        variant = Variant.parse(path.parent.name)
    except ValueError:  # a folder the pipeline did not make
        return None
    return Run(path.parent.parent.parent.name, path.parent.parent.name, variant, int(seed[1]))
