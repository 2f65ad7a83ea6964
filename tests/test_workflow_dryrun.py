"""The DAG of the shipped configs, the SLURM profile's resources, and the linter.

Dry runs happen in an empty folder, so that results/ of a real run in the repository cannot
change what is planned; the shipped configs are passed explicitly (config.yaml first, as the
Snakefile's configfile would be).
"""
from workflow_helpers import REPO, job_counts, snakemake

DEFAULT = REPO / "config" / "config.yaml"
SEED_SWEEP = REPO / "config" / "seed-sweep.yaml"


def test_seed_sweep_plans_every_run_and_every_checkpoint_evaluation(tmp_path):
    result = snakemake("-n", "-p", "--configfile", DEFAULT, SEED_SWEEP, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    counts = job_counts(result.stdout)
    configurations = 2 * 4 * 1  # sizes x variants x tasks
    runs = configurations * 5  # seeds
    assert counts["preflight"] == configurations
    assert counts["train"] == runs == 40
    assert counts["evaluate"] == runs  # one job per run for its 20 checkpoints (20000 epochs, every 1000)
    assert sum(line.count("/checkpoints/epoch_") for line in result.stdout.splitlines() if "pwm-eval " in line) == runs * 20
    assert counts["aggregate"] == 1 and counts["status_report"] == 1
    assert "plot_size_scaling" in counts and "plot_substeps" in counts  # 2 sizes, K in {2, 4, 8}
    assert "aggregate_multitask" not in counts  # no task sets configured
    commands = [line for line in result.stdout.splitlines() if "pwm-train " in line]
    assert len(commands) == 40
    assert not any("agent." in c for c in commands)  # the default's 1M laptop recipe stays with 1M


def test_default_config_plans_a_small_sweep(tmp_path):
    result = snakemake("-n", "--configfile", DEFAULT, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    counts = job_counts(result.stdout)
    assert counts["preflight"] == 2 and counts["train"] == 4 and counts["evaluate"] == 4
    # one size and one K: the size and substeps figures would be single points, and are not planned
    assert "plot_size_scaling" not in counts and "plot_substeps" not in counts


def test_slurm_profile_requests_resources_by_size_with_the_signal_for_train(tmp_path):
    result = snakemake("-n", "-p", "results/runs/Ant-v5/48M/flow-euler-k8/seed2/final/status.json",
                       "--profile", REPO / "profiles" / "slurm", "--configfile", DEFAULT, SEED_SWEEP,
                       cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    train = result.stdout[result.stdout.index("rule train:"):]
    resources = train[train.index("resources:"):].splitlines()[0]
    for expected in ("mem_mb=32000", "runtime=2880", "gpu=1", "slurm_partition=YOUR_PARTITION",
                     "slurm_extra=--signal=TERM@120"):
        assert expected in resources
    assert "device=cuda" in train  # a GPU job trains on it


def test_finished_scope_starts_no_training(tmp_path):
    result = snakemake("-n", "--configfile", DEFAULT, "--config", "report_scope=finished", cwd=tmp_path,
                       timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    counts = job_counts(result.stdout)
    assert "train" not in counts and "evaluate" not in counts and "preflight" not in counts
    assert counts["aggregate"] == 1


def test_lint_is_clean():
    result = snakemake("--lint", timeout=120)
    assert result.returncode == 0
    assert "Lints for" not in result.stdout
    assert "Congratulations, your workflow is in a good condition!" in result.stdout


def test_train_threads_per_size_reach_pwm_train_and_its_preflight(tmp_path):
    threads = tmp_path / "threads.yaml"
    threads.write_text("resources:\n  train:\n    threads:\n      1M: 2\n")
    result = snakemake("-n", "-p", "--configfile", DEFAULT, threads, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    commands = [line for line in result.stdout.splitlines() if "pwm-train " in line or "pwm-preflight " in line]
    assert len(commands) == 6 and all(" threads=2 " in c for c in commands)
