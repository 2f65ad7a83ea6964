# Evaluation of every saved checkpoint of a finished run, in one job: deterministic policy, real
# environment, fixed evaluation seeds. Checkpoint epochs follow from the size's budget (common.smk).
rule evaluate:
    input:
        rules.train.output,
    output:
        directory(EVALUATION_DIR),
    log:
        "results/logs/evaluate/{task}/{size}/{variant}/seed{seed}.log",
    params:
        checkpoints=checkpoint_paths,
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
