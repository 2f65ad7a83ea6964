# Multi-task: data (single-task replay buffers or random episodes, TD-MPC2 chunk format) ->
# preflight -> one world model per task set, size, variant and seed -> one policy per task
# through it -> evaluation of every policy checkpoint in the real environment -> aggregate.
# Run folders are params, not outputs, as in train.smk: a killed job resumes from its state.
rule mt_data_from_run:
    input:
        f"{RUN_DIR}/final/status.json",
    output:
        MT_DATA_FROM_RUN,
    log:
        "results/logs/multitask/data/{task}/{size}-{variant}-seed{seed}.log",
    params:
        run_dir=run_dir,
    resources:
        mem_mb=scaled_resource("evaluate", "mem_mb"),
        runtime=scaled_resource("evaluate", "runtime"),
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable pwm-mt-data out={output} run_dir={params.run_dir} > {log} 2>&1"


rule mt_data_random:
    output:
        MT_DATA_RANDOM,
    log:
        "results/logs/multitask/data/{task}/random.log",
    params:
        episodes=MULTITASK.random_episodes,
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable pwm-mt-data out={output} task={wildcards.task} episodes={params.episodes} > {log} 2>&1"


rule mt_preflight:
    output:
        "results/preflight/multitask/{task_set}/{size}/{variant}.json",
    log:
        "results/logs/preflight/multitask/{task_set}/{size}/{variant}.log",
    params:
        tasks=lambda wildcards: override_args({"tasks": list(MULTITASK.task_sets[wildcards.task_set])}),
        variant=variant_args,
        overrides=lambda wildcards: override_args(MULTITASK.world_model.overrides, MULTITASK.policy.overrides),
        device=device_args("preflight"),
    threads: 1
    resources:
        mem_mb=scaled_resource("preflight", "mem_mb"),
        runtime=scaled_resource("preflight", "runtime"),
        gpu=gpus("preflight"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable pwm-mt-preflight out={output} {params.tasks} size={wildcards.size}"
        " {params.variant} {params.overrides} {params.device} > {log} 2>&1"


rule mt_world_model:
    input:
        data=mt_data_files,
        preflight=rules.mt_preflight.output[0],
    output:
        checkpoint=f"{MT_WORLD_MODEL_DIR}/final/checkpoint.pt",
        metrics=f"{MT_WORLD_MODEL_DIR}/final/metrics.parquet",
        status=f"{MT_WORLD_MODEL_DIR}/final/status.json",
    log:
        "results/logs/multitask/{task_set}/{size}/{variant}/seed{seed}/world_model.log",
    params:
        run_dir=mt_world_model_dir,
        data=mt_data_args(with_tasks=True),
        variant=variant_args,
        epochs=mt_stage("world_model", "epochs"),
        checkpoint_every=mt_stage("world_model", "checkpoint_every"),
        overrides=mt_overrides("world_model", "train"),
    threads: 1
    resources:
        mem_mb=scaled_resource("train", "mem_mb"),
        runtime=scaled_resource("train", "runtime"),
        gpu=gpus("train"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable exec pwm-mt-world-model run_dir={params.run_dir} {params.data} size={wildcards.size}"
        " {params.variant} seed={wildcards.seed} epochs={params.epochs}"
        " checkpoint_every={params.checkpoint_every} {params.overrides} > {log} 2>&1"


rule mt_policy:
    input:
        world_model=rules.mt_world_model.output.checkpoint,
    output:
        checkpoint=f"{MT_POLICY_DIR}/final/checkpoint.pt",
        metrics=f"{MT_POLICY_DIR}/final/metrics.parquet",
        status=f"{MT_POLICY_DIR}/final/status.json",
    log:
        "results/logs/multitask/{task_set}/{size}/{variant}/seed{seed}/policy/{task}.log",
    params:
        run_dir=mt_policy_dir,
        data=mt_data_args(with_tasks=False),
        epochs=mt_stage("policy", "epochs"),
        checkpoint_every=mt_stage("policy", "checkpoint_every"),
        finetune="finetune=true" if MULTITASK.finetune else "",
        overrides=mt_overrides("policy", "train"),
    threads: 1
    resources:
        mem_mb=scaled_resource("train", "mem_mb"),
        runtime=scaled_resource("train", "runtime"),
        gpu=gpus("train"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    shell:
        "MUJOCO_GL=disable exec pwm-mt-policy run_dir={params.run_dir} world_model={input.world_model}"
        " task={wildcards.task} {params.data} seed={wildcards.seed} epochs={params.epochs}"
        " checkpoint_every={params.checkpoint_every} {params.finetune} {params.overrides} > {log} 2>&1"


rule mt_evaluate:
    input:
        rules.mt_policy.output,
    output:
        directory(MT_EVALUATION_DIR),
    log:
        "results/logs/evaluate/multitask/{task_set}/{size}/{variant}/seed{seed}/{task}.log",
    params:
        checkpoints=mt_policy_checkpoints,
        episodes=lookup(dpath="evaluation/episodes", within=config),
        device=device_args("evaluate"),
    threads: 1
    resources:
        mem_mb=scaled_resource("evaluate", "mem_mb"),
        runtime=scaled_resource("evaluate", "runtime"),
        gpu=gpus("evaluate"),
        gpu_model=lookup(dpath="resources/gpu_model", within=config),
    conda:
        "../envs/pwm.yaml"
    shell:
        EVALUATE_SHELL


# Per-task returns, the normalised score over each task set and multi-task vs. single-task;
# empty tables when no task set is configured. Columns: pwm/results/schemas.py.
rule aggregate_multitask:
    input:
        evaluations=mt_evaluations,
        runs=rules.aggregate.output.runs,
    output:
        multitask="results/metrics/multitask.parquet",
        summary="results/metrics/multitask_summary.parquet",
    log:
        "results/logs/aggregate_multitask.log",
    params:
        records=MT_RECORDS,
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/aggregate_multitask.py"
