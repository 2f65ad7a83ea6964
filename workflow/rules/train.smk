# One training run. pwm-train keeps its resumable state in the run folder (a param, not an
# output) and writes final/ only on completion, so a rerun after a kill, a timeout or a
# failure resumes from the last saved state.
rule train:
    input:
        preflight=rules.preflight.output[0],
    output:
        metrics=f"{RUN_DIR}/final/metrics.parquet",
        status=f"{RUN_DIR}/final/status.json",
        checkpoint=f"{RUN_DIR}/final/checkpoint.pt",
    log:
        TRAIN_LOG,
    benchmark:
        "results/benchmarks/train/{task}/{size}/{variant}/seed{seed}.tsv"
    params:
        threads=train_threads,  # the configured count, even where Snakemake has fewer cores: a run's identity
        run_dir=run_dir,
        variant=variant_args,
        epochs=budget("epochs"),
        checkpoint_every=budget("checkpoint_every"),
        overrides=trainer_overrides("train"),
    threads: train_threads
    resources:
        mem_mb=scaled_resource("train", "mem_mb"),
        runtime=scaled_resource("train", "runtime"),
        gpu=gpus("train"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    # exec: pwm-train replaces the shell, so that a signal SLURM sends to the job step (scancel,
    # time limit, the SLURM profile's pre-timeout --signal) reaches the trainer while Snakemake
    # waits for its checkpoint.
    shell:
        "MUJOCO_GL=disable exec pwm-train run_dir={params.run_dir} task={wildcards.task} size={wildcards.size}"
        " {params.variant} seed={wildcards.seed} epochs={params.epochs}"
        " checkpoint_every={params.checkpoint_every} threads={params.threads} {params.overrides} > {log} 2>&1"
