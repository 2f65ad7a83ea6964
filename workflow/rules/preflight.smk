# Smoke test of every distinct configuration (task, size, variant): build the models on the real
# task and run one update step, before any training job of that configuration may start; then
# time a few learning epochs on the train jobs' device (the sweep's projected cost, common.smk).
rule preflight:
    output:
        PREFLIGHT,
    log:
        PREFLIGHT_LOG,
    params:
        threads=train_threads,  # the configured count, even where Snakemake has fewer cores: a run's identity
        variant=variant_args,
        epochs=budget("epochs"),
        overrides=trainer_overrides("preflight"),
    threads: train_threads
    resources:
        mem_mb=scaled_resource("preflight", "mem_mb"),
        runtime=scaled_resource("preflight", "runtime"),
        gpu=gpus("preflight"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable pwm-preflight out={output} task={wildcards.task} size={wildcards.size}"
        " {params.variant} epochs={params.epochs} threads={params.threads} {params.overrides} > {log} 2>&1"
